"""Fixtures for the Docker engine tests: a real daemon, the bootstrapped images,
a fresh run id per test, and a check that a run left nothing behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest
from pgserver import server  # noqa: F401  (a real PostgreSQL for the plugin's tests)

from pipeline.engines.base import LABEL_RUN, RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.errors import connect
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.errors import SlipwayError

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def missing_part(reason: str) -> None:
    """Skip on a developer's machine that lacks a real part; fail in CI, where
    .ci/run sets everything up, so a broken setup can never pass as skipped."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run should have provided it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = connect(timeout=30)
    except SlipwayError as exc:
        missing_part(f"no Docker daemon: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """The alias table, once its images are known to be present."""
    present = {t for img in docker_client.images.list() for t in img.tags}
    missing = sorted(set(DEFAULT_ALIASES.values()) - present)
    if missing:
        missing_part(f"base images {missing} missing: run `python -m pipeline images bootstrap`")
    return dict(DEFAULT_ALIASES)


def run_objects(client: docker.DockerClient, run_id: str) -> list[str]:
    """Every container, network and volume labelled with ``run_id``."""
    flt = {"label": f"{LABEL_RUN}={run_id}"}
    api = client.api
    return (
        [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=flt)]
        + [f"network {n['Name']}" for n in api.networks(filters=flt)]
        + [f"volume {v['Name']}" for v in api.volumes(filters=flt).get("Volumes") or []]
    )


@pytest.fixture
def run_id() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(
    docker_client: docker.DockerClient, base_images: dict[str, str], run_id: str
) -> AsyncIterator[DockerEngine]:
    """A Docker engine for one run; after the test, the run must have left nothing."""
    eng = DockerEngine(RunContext(run_id=run_id), aliases=base_images, ca_bundle=CA_BUNDLE)
    yield eng
    await eng.aclose()
    assert run_objects(docker_client, run_id) == []
