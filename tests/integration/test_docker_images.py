"""Base images without a registry, and doctor's view of this machine."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from pipeline.commands.doctor import collect_checks, run_doctor
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.bootstrap import BASE_IMAGES, bootstrap
from pipeline.model.spec import ContainerSpec, ImageRef
from tests.integration.conftest import CA_BUNDLE

pytestmark = [pytest.mark.integration]


def test_warm_bootstrap_reuses_every_image_in_seconds(base_images: dict[str, str]) -> None:
    said: list[str] = []
    start = time.monotonic()
    steps = bootstrap(echo=said.append)
    assert time.monotonic() - start < 60  # an order of magnitude: reusing, not building
    defaults = [b for b in BASE_IMAGES if b.default]
    assert [s.action for s in steps] == ["reused"] * len(defaults)
    assert said == [f"{b.tag} present, reused" for b in defaults]


def test_doctor_reports_engine_daemon_images_ca_and_real_cpu_quota(
    base_images: dict[str, str],
) -> None:
    checks = {c.name: c for c in collect_checks(ca_bundle=CA_BUNDLE, cpus=0.5)}
    assert checks["engine"].status == "ok"
    assert checks["docker daemon"].status == "ok"
    assert checks["base images"].status == "ok"
    assert checks["ca bundle"].status == "ok"
    assert checks["cpu quota"].status == "warn"
    assert "quota 0.5 CPUs" in checks["cpu quota"].detail


def test_doctor_fails_without_a_daemon(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert run_doctor() == 1
    out = capsys.readouterr().out
    assert "fail docker daemon" in out


@pytest.mark.anyio
async def test_postgres_image_behaves_like_the_official_one(engine: DockerEngine, tmp_path: Path) -> None:
    # The entrypoint's POSTGRES_* handling, checked from inside without a service.
    spec = ContainerSpec(
        name="pg-alone",
        image=ImageRef(ref="postgres:15"),
        env=(("POSTGRES_USER", "u"), ("POSTGRES_PASSWORD", "p"), ("POSTGRES_DB", "d")),
        commands=(
            (
                "sh",
                "-c",
                "docker-entrypoint.sh postgres >/tmp/pg.log 2>&1 &"
                " for i in $(seq 100); do pg_isready -q -h 127.0.0.1 && break; sleep 0.2; done;"
                " PGPASSWORD=p psql -h 127.0.0.1 -U u -d d -tAc 'select current_database()'",
            ),
        ),
    )
    result = await engine.run(spec, log_path=tmp_path / "pg.log", output_dir=tmp_path)
    assert result.exit_code == 0, result.log_path.read_text()
    assert "\nd\n" in result.log_path.read_text()


@pytest.mark.anyio
async def test_pip_and_npm_reach_their_registries_with_the_ca_bundle(
    engine: DockerEngine, tmp_path: Path
) -> None:
    pip = ContainerSpec(
        name="pip",
        image=ImageRef(ref="python:3.11-slim"),
        commands=(("pip", "download", "--no-deps", "-q", "-d", "/tmp/d", "six"),),
    )
    npm = ContainerSpec(
        name="npm", image=ImageRef(ref="node:20-slim"), commands=(("npm", "view", "left-pad", "version"),)
    )
    for spec in (pip, npm):
        result = await engine.run(spec, log_path=tmp_path / f"{spec.name}.log", output_dir=tmp_path)
        assert result.exit_code == 0, result.log_path.read_text()


def test_images_are_labelled(docker_client: docker.DockerClient, base_images: dict[str, str]) -> None:
    for base in (b for b in BASE_IMAGES if b.default):
        labels = docker_client.images.get(base.tag).labels
        assert labels.get("dev.slipway.bootstrap") == "base"
