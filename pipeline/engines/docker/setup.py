"""What a job on the Docker engine is given (``Setup``) and what it records having made
(``Made``), plus the small helpers every part of a job uses."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from docker import APIClient

from pipeline.engines.base import LABEL_JOB
from pipeline.engines.docker import build as docker_build
from pipeline.engines.docker.errors import call, call_long
from pipeline.engines.docker.images import ImageResolver
from pipeline.engines.docker.tar import file_tar
from pipeline.model.ca import CA_PATH, ca_env
from pipeline.model.errors import SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.spec import ContainerSpec, Image, ImageBuild

if TYPE_CHECKING:
    from pipeline.engines.docker.shared import Shared


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    """What every job of a run shares on this engine."""

    api: APIClient
    run_id: str
    labels: Mapping[str, str]
    images: ImageResolver  # which image runs for a logical name (the alias policy, once per run)
    ca_bundle: Path | None
    shared: Shared  # the run's shared services and source snapshots

    def job_labels(self, job_name: str, **extra: str) -> dict[str, str]:
        return {**self.labels, LABEL_JOB: job_name, **extra}

    def container_env(self, spec: ContainerSpec) -> list[tuple[str, str]]:
        return [*self.ca_env(), *spec.env]

    def ca_env(self) -> tuple[tuple[str, str], ...]:
        return ca_env() if self.ca_bundle else ()


@dataclass(slots=True)
class Made:
    """What one job created, so its cleanup removes exactly that."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    # The run's shared services this job used: never removed by it, but looked at when
    # it fails (a shared PostgreSQL killed under the job is the likelier cause).
    shared_services: list[str] = field(default_factory=list)


async def resolve_image(setup: Setup, image: Image, log: JobLog) -> str:
    if isinstance(image, ImageBuild):
        return await call_long(
            "build an image", docker_build.build, setup.api, image, setup.images, setup.run_id, log
        )
    return await call("find an image", setup.images.choose, setup.api, image.ref, log)


async def put_ca(setup: Setup, cid: str) -> None:
    if setup.ca_bundle:
        data = file_tar(setup.ca_bundle, CA_PATH, mode=0o644)
        with data:
            await call("copy the CA bundle in", setup.api.put_archive, cid, "/", data)


def endpoints(api: APIClient, network: str, alias: str) -> Any:
    # The API takes {network: endpoint}; the type stubs only know a single endpoint.
    return api.create_networking_config(cast(Any, {network: api.create_endpoint_config(aliases=[alias])}))


async def quietly(aw: Awaitable[object]) -> None:
    """Cleanup goes on past one failure (already gone, daemon hiccup): gc takes the rest."""
    with contextlib.suppress(SlipwayError):
        await aw
