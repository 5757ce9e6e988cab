"""Bootstrapped bases for tests: built on first use (lazily: setup-machine builds only the
defaults), reused afterwards; and Dockerfile builds FROM them, with their logs."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import docker
import pytest

from pipeline.engines.docker.bootstrap import bootstrap
from pipeline.model.bases import resolve_base
from pipeline.model.errors import SlipwayError
from tests.integration.conftest import CA_BUNDLE, missing_part

CONSUMERS = Path(__file__).parents[1] / "fixtures" / "consumers"

# CI tests the bases at both ends of Debian's suites (bookworm and forky: the oldest
# interpreter and server, and the testing suite with its own debootstrap script and
# expired Release file). The ones between (trixie's python 3.13 and postgres 17, forky's
# python 3.15: the same recipes on the same suites) cost about 10 more minutes cold on
# 2 cores; SLIPWAY_TEST_ALL_BASES=1 tests them too.
ALL_BASES = os.environ.get("SLIPWAY_TEST_ALL_BASES") == "1"
EVERY_RUN = {"python:3.11", "python:3.14", "postgres:15", "postgres:18"}


def base_param(name: str) -> object:
    """A pytest param for base ``name``; skipped (saying why) unless CI tests it or asked for."""
    if ALL_BASES or name in EVERY_RUN:
        return pytest.param(name, id=name)
    reason = f"{name}: the same recipe and suite as a base tested on every run; SLIPWAY_TEST_ALL_BASES=1 tests it"
    return pytest.param(name, id=name, marks=pytest.mark.skip(reason=reason))


def ensure_base(name: str) -> str:
    """The tag of the base ``name`` asks for, bootstrapped if it is not here yet (minutes,
    once per machine: Docker keeps it). In CI a base that cannot be built fails the test."""
    base = resolve_base(name)
    if shutil.which("debootstrap") is None:
        missing_part("debootstrap is not installed (scripts/setup-machine installs it)")
    try:
        bootstrap(bases=[base], ca_bundle=CA_BUNDLE if CA_BUNDLE.is_file() else None, echo=lambda _line: None)
    except SlipwayError as exc:
        pytest.fail(f"bootstrapping {base.tag} failed: {exc}")
    return base.tag


def build(
    client: docker.DockerClient,
    context: Path,
    dockerfile: str,
    *,
    tag: str,
    args: dict[str, str],
) -> tuple[bool, str]:
    """(succeeded, log) of ``docker build`` with the layer cache (a second run of the same
    Dockerfile on the same base image takes seconds; a new base id rebuilds it all)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(context, arcname=".")
    buf.seek(0)
    lines: list[str] = []
    for item in client.api.build(
        fileobj=buf,
        custom_context=True,
        dockerfile=dockerfile,
        buildargs=args,
        tag=tag,
        pull=False,
        rm=True,
        forcerm=True,
        decode=True,
        labels={"dev.slipway.test": "base-consumer"},
    ):
        if "error" in item:
            lines.append(f"ERROR: {item['error']}")
            return False, "".join(lines)
        text = item.get("stream")
        if isinstance(text, str):
            lines.append(text)
    return True, "".join(lines)
