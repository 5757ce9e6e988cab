"""Base images without a registry, the alias policy on a real daemon, and doctor's view."""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from pipeline.commands.cli import main
from pipeline.commands.doctor import collect_checks, run_doctor
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.bootstrap import LABEL_BOOTSTRAP, bootstrap, status
from pipeline.engines.docker.bootstrap.recipes import LABEL_RECIPE, recipe_for
from pipeline.model.bases import BASES, resolve_base
from pipeline.model.errors import EngineJobError
from pipeline.model.spec import ContainerSpec, ImageBuild, ImageRef
from tests.integration.bases import ensure_base
from tests.integration.conftest import CA_BUNDLE, run_objects

pytestmark = [pytest.mark.integration]

DEFAULTS = [b for b in BASES if b.default]


def test_warm_bootstrap_reuses_every_image_in_seconds(base_images: dict[str, str]) -> None:
    said: list[str] = []
    start = time.monotonic()
    steps = bootstrap(bases=DEFAULTS, echo=said.append)
    assert time.monotonic() - start < 60  # an order of magnitude: reusing, not building
    assert [s.action for s in steps] == ["reused"] * len(DEFAULTS)
    assert [line.split(" (")[0] for line in said] == [f"{b.tag} present" for b in DEFAULTS]
    assert all(line.endswith("), reused") for line in said)


def _stale_image(client: docker.DockerClient, tag: str, labels: dict[str, str]) -> None:
    """An image under ``tag`` as an earlier Slipway left it: no HEALTHCHECK, not our recipe."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"left by an older Slipway\n"
        info = tarfile.TarInfo("stale.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repo, version = tag.rsplit(":", 1)
    changes = [f"LABEL {k}={v}" for k, v in labels.items()]
    client.api.import_image_from_data(buf.getvalue(), repository=repo, tag=version, changes=changes)


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("left", "said"),
    [
        ({LABEL_BOOTSTRAP: "base"}, "present without a recipe label"),  # main's bootstrap before 3bbf38b
        ({LABEL_BOOTSTRAP: "base", LABEL_RECIPE: "0123456789abcdef"}, "present, built from another recipe"),
    ],
    ids=["no-recipe-label", "other-recipe"],
)
def test_a_stale_image_under_a_base_tag_is_rebuilt_not_reused(
    docker_client: docker.DockerClient, left: dict[str, str], said: str
) -> None:
    # The CI failure this guards: setup-machine reused an older slipway/postgres:15 by its tag,
    # and the service test found "its image has no HEALTHCHECK". Same base, a throwaway tag (the
    # shared slipway/postgres:15 stays put); the layer cache of the real one makes it quick.
    ensure_base("postgres:15")
    base = dataclasses.replace(resolve_base("postgres:15"), repository=f"slipway-test/stale-{uuid.uuid4().hex[:8]}")
    _stale_image(docker_client, base.tag, left)
    lines: list[str] = []
    try:
        assert docker_client.images.get(base.tag).attrs["Config"].get("Healthcheck") is None
        assert [s.state for s in status(docker_client, [base])] == ["outdated"]
        steps = bootstrap(bases=[base], ca_bundle=CA_BUNDLE if CA_BUNDLE.is_file() else None, echo=lines.append)
        assert [s.action for s in steps] == ["built"]
        assert f"{base.tag} {said}" in "\n".join(lines)
        rebuilt = docker_client.images.get(base.tag)
        assert rebuilt.labels[LABEL_RECIPE] == recipe_for(base).digest()
        assert "pg_isready" in " ".join(rebuilt.attrs["Config"]["Healthcheck"]["Test"])
        assert [s.action for s in bootstrap(bases=[base], echo=lines.append)] == ["reused"]
    finally:
        docker_client.api.remove_image(base.tag, force=True)


def test_images_are_labelled_with_their_recipe_and_exact_version(
    docker_client: docker.DockerClient, base_images: dict[str, str]
) -> None:
    found = {s.base.tag: s for s in status(docker_client, DEFAULTS)}
    assert {tag: s.state for tag, s in found.items()} == {b.tag: "built" for b in DEFAULTS}
    python = docker_client.images.get("slipway/python:3.11")
    assert python.labels[LABEL_BOOTSTRAP] == "base"
    env = dict(e.split("=", 1) for e in python.attrs["Config"]["Env"])
    assert env["PYTHON_VERSION"] == found["slipway/python:3.11"].version
    assert env["PYTHON_VERSION"].startswith("3.11.")
    assert python.labels["dev.slipway.debian-package"].startswith("python3.11=3.11")
    postgres = docker_client.images.get("slipway/postgres:15")
    pg_env = dict(e.split("=", 1) for e in postgres.attrs["Config"]["Env"])
    assert pg_env["PG_MAJOR"] == "15"
    assert pg_env["PG_VERSION"].startswith("15.")  # Debian's package version, as the official image's
    assert "pg_isready" in " ".join(postgres.attrs["Config"]["Healthcheck"]["Test"])


def test_images_list_shows_suite_version_and_state(
    base_images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("slipway/")}
    assert set(rows) == {b.tag for b in BASES}
    assert "bookworm" in rows["slipway/python:3.11"]
    assert " built" in rows["slipway/python:3.11"]
    assert "forky" in rows["slipway/postgres:18"]


def test_doctor_reports_engine_daemon_images_bases_ca_and_real_cpu_quota(
    base_images: dict[str, str],
) -> None:
    checks = {c.name: c for c in collect_checks(ca_bundle=CA_BUNDLE, cpus=0.5)}
    assert checks["engine"].status == "ok"
    assert checks["docker daemon"].status == "ok"
    assert checks["base images"].status == "ok"
    assert "slipway/python:3.11 (3.11." in checks["bases"].detail
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


# -- the alias policy on a real daemon ------------------------------------------------


@pytest.fixture
def stand_in(docker_client: docker.DockerClient, base_images: dict[str, str]) -> Iterator[str]:
    """A local-only image standing in for a public one: slipway/python:3.11 under a name
    no registry has (so a pull of it fails here as it would on an offline runner)."""
    name = f"slipway-test/public:{uuid.uuid4().hex[:8]}"
    docker_client.api.tag("slipway/python:3.11", *name.split(":"))
    yield name
    docker_client.api.remove_image(name, force=True)


def _engine(aliases: dict[str, str], run_id: str, announced: list[str]) -> DockerEngine:
    return DockerEngine(
        RunContext(run_id=run_id, announce=announced.append), aliases=aliases, ca_bundle=CA_BUNDLE
    )


@pytest.mark.anyio
async def test_present_target_is_used_said_once_on_the_console_and_in_every_log(
    docker_client: docker.DockerClient, base_images: dict[str, str], run_id: str, tmp_path: Path
) -> None:
    announced: list[str] = []
    eng = _engine({"python:3.11-slim": "slipway/python:3.11"}, run_id, announced)
    logs = []
    try:
        for n in range(2):
            spec = ContainerSpec(name=f"j{n}", image=ImageRef(ref="python:3.11-slim"), commands=(("true",),))
            result = await eng.run(spec, log_path=tmp_path / f"j{n}.log", output_dir=tmp_path)
            assert result.exit_code == 0
            logs.append(result.log_path.read_text())
    finally:
        await eng.aclose()
    said = "image python:3.11-slim: using slipway/python:3.11 (alias; its target is present locally)"
    assert announced == [said]
    assert all(said in log for log in logs)
    assert run_objects(docker_client, run_id) == []


@pytest.mark.anyio
async def test_missing_target_and_a_local_public_image_runs_the_public_one(
    stand_in: str, run_id: str, tmp_path: Path
) -> None:
    announced: list[str] = []
    eng = _engine({stand_in: "slipway-test/never-built:1"}, run_id, announced)
    try:
        spec = ContainerSpec(name="pub", image=ImageRef(ref=stand_in), commands=(("python", "-V"),))
        result = await eng.run(spec, log_path=tmp_path / "pub.log", output_dir=tmp_path)
    finally:
        await eng.aclose()
    assert result.exit_code == 0
    assert announced == [f"image {stand_in}: present locally; alias target slipway-test/never-built:1 is not"]


@pytest.mark.anyio
async def test_neither_public_nor_target_to_be_had_fails_the_job_saying_what_to_do(
    run_id: str, tmp_path: Path
) -> None:
    eng = _engine({"slipway-test/public-absent:1": "slipway-test/target-absent:1"}, run_id, [])
    spec = ContainerSpec(name="x", image=ImageRef(ref="slipway-test/public-absent:1"), commands=(("true",),))
    try:
        with pytest.raises(EngineJobError, match=r"nor can its alias target slipway-test/target-absent:1"):
            await eng.run(spec, log_path=tmp_path / "x.log", output_dir=tmp_path)
    finally:
        await eng.aclose()


@pytest.mark.anyio
async def test_from_line_uses_the_present_target_without_retagging_the_public_name(
    docker_client: docker.DockerClient, stand_in: str, run_id: str, tmp_path: Path
) -> None:
    # The public name exists locally (here: a stand-in) and the alias target too: the
    # target wins (policy step 1), and the public tag is left as it was.
    target = "slipway/postgres:15"
    (tmp_path / "Dockerfile").write_text(f"FROM {stand_in} AS base\nRUN true\nFROM base\n")
    before = docker_client.images.get(stand_in).id
    tag = f"slipway-test/from-alias:{uuid.uuid4().hex[:8]}"
    announced: list[str] = []
    eng = _engine({stand_in: target}, run_id, announced)
    try:
        await eng.build_image(ImageBuild(context=tmp_path, dockerfile="Dockerfile", tags=(tag,)), log_path=tmp_path / "b.log")
        built = docker_client.images.get(tag)
        assert built.attrs["Config"]["Env"] == docker_client.images.get(target).attrs["Config"]["Env"]
        assert docker_client.images.get(stand_in).id == before
        assert announced == [f"image {stand_in}: using {target} (alias; its target is present locally)"]
        assert f"using {target}" in (tmp_path / "b.log").read_text()
    finally:
        await eng.aclose()
        docker_client.api.remove_image(tag, force=True)
