"""Each Python base behaves like python:X.Y-slim for what CI Dockerfiles do.

Every Dockerfile of tests/fixtures/consumers is built FROM each base, as a project's
Dockerfile.test would: pip into the system interpreter (upgrade pip, upgrade and
downgrade packaging, --user, a venv, uninstall), `pip install poetry && poetry
install` (system and in-project venv), uv (`uv sync`, `uv pip install --system`),
pipx, a C extension against Python.h, a multi-stage copy of site-packages, and pip
after apt reinstalls the stdlib package (EXTERNALLY-MANAGED must not come back).
Each RUN line asserts what it needs; a build that fails prints its log.

The layer cache is kept (images labelled dev.slipway.test=base-consumer): a rerun
on an unchanged base takes seconds, a rebuilt base (a new image id) reruns it all.
"""

from __future__ import annotations

import docker
import pytest

from tests.integration.bases import CONSUMERS, base_param, build, ensure_base

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

VERSIONS = [base_param(f"python:{v}") for v in ("3.11", "3.13", "3.14", "3.15")]
DOCKERFILES = ("pip", "poetry", "uv", "pipx", "cext", "multistage", "aptupgrade")


@pytest.fixture(scope="module", params=VERSIONS)
def python_base(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(tag, X.Y) of one Python base, bootstrapped on first use."""
    name = str(request.param)
    return ensure_base(name), name.split(":")[1]


@pytest.mark.parametrize("consumer", DOCKERFILES)
def test_ci_dockerfile_builds_on_the_base(
    python_base: tuple[str, str], consumer: str, docker_client: docker.DockerClient
) -> None:
    tag, version = python_base
    ok, log = build(
        docker_client,
        CONSUMERS,
        f"Dockerfile.{consumer}",
        tag=f"slipway-test/consumer-{consumer}:{version}",
        args={"BASE": tag, "PYV": version},
    )
    assert ok, f"Dockerfile.{consumer} FROM {tag} failed:\n{log[-6000:]}"


def test_the_interpreter_is_the_one_asked_for_and_pip_owns_usr_local(
    python_base: tuple[str, str], docker_client: docker.DockerClient
) -> None:
    tag, version = python_base
    script = (
        "import os, subprocess, sys, sysconfig; "
        "print(sys.version_info[:2], os.environ['PYTHON_VERSION'], sysconfig.get_paths()['purelib']); "
        "print(subprocess.run(['pip', 'list', '--format=freeze'], capture_output=True, text=True).stdout)"
    )
    out = docker_client.containers.run(tag, ["python", "-c", script], remove=True).decode()
    major, minor = (int(p) for p in version.split("."))
    assert out.startswith(f"({major}, {minor}) {version}.")  # PYTHON_VERSION is the exact upstream one
    assert f"/usr/local/lib/python{version}/dist-packages" in out
    assert "pip==" in out
    # Debian's python3-pip is not installed: nothing Debian-owned for pip to trip over.
    listing = docker_client.containers.run(
        tag, ["sh", "-c", "ls /usr/lib/python3/dist-packages 2>/dev/null | wc -l"], remove=True
    )
    assert listing.decode().strip() == "0"
