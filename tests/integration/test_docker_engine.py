"""The Docker engine against a real Docker Engine and the bootstrapped images."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import docker
import pytest

from pipeline.engines.base import LABEL_RUN, Engine, RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.job import EXIT_SERVICE_NOT_READY
from pipeline.model.errors import EngineJobError, EngineUnavailable
from pipeline.model.secrets import MASK
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    DirectoryMount,
    ImageBuild,
    ImageRef,
    Limits,
    Readiness,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)
from tests.integration.conftest import run_objects

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PY = ImageRef(ref="python:3.11-slim")  # resolved through the alias table
PG = ImageRef(ref="postgres:15")


def sh(script: str) -> tuple[str, ...]:
    return ("sh", "-c", script)


async def test_exit_code_and_output_come_back(engine: DockerEngine, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="hello",
        image=PY,
        commands=(sh("echo out-line; echo err-line >&2"), sh("python -c 'print(6*7)'; exit 3")),
    )
    result = await engine.run(spec, log_path=tmp_path / "hello.log", output_dir=tmp_path / "out")
    log = result.log_path.read_text()
    assert result.exit_code == 3
    assert not result.ok
    assert "out-line\n" in log
    assert "err-line\n" in log
    assert "42\n" in log
    assert result.duration_s > 0


async def test_stops_at_first_failure_and_still_exports(engine: DockerEngine, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("X = 1\n")
    (src / "node_modules").mkdir()
    (src / "node_modules" / "junk.js").write_text("junk")
    spec = ContainerSpec(
        name="tests: unit",
        image=PY,
        directories=(DirectoryMount(source=src, dest="/app", exclude=("node_modules",)),),
        workdir="/app",
        commands=(
            sh("mkdir -p reports && ls -R > reports/listing.txt && echo fail > reports/r.xml"),
            ("false",),
            sh("echo never > reports/never.txt"),
        ),
        outputs=("/app/reports", "/app/missing.xml"),
    )
    out = tmp_path / "out"
    result = await engine.run(spec, log_path=tmp_path / "job.log", output_dir=out)
    assert result.exit_code == 1
    assert result.outputs == {"/app/reports": out / "app" / "reports"}
    listing = (out / "app" / "reports" / "listing.txt").read_text()
    assert "mod.py" in listing
    assert "junk.js" not in listing  # excluded from the copy
    assert (out / "app" / "reports" / "r.xml").read_text() == "fail\n"
    assert not (out / "app" / "reports" / "never.txt").exists()
    log = result.log_path.read_text()
    assert "/app/missing.xml does not exist" in log
    assert (src / "pkg" / "mod.py").read_text() == "X = 1\n"  # host tree untouched


async def test_cache_volume_keeps_content_across_runs(
    docker_client: docker.DockerClient, base_images: dict[str, str], tmp_path: Path
) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    cache = CacheMount(name=name, path="/cache", sharing=Sharing.LOCKED)
    try:
        for n, script in enumerate(
            ["echo first-run > /cache/marker", "cat /cache/marker && test -s /cache/marker"]
        ):
            eng = DockerEngine(RunContext(run_id=f"t-cache-{n}-{name}"), aliases=base_images)
            spec = ContainerSpec(name=f"run{n}", image=PY, caches=(cache,), commands=(sh(script),))
            result = await eng.run(spec, log_path=tmp_path / f"{n}.log", output_dir=tmp_path)
            await eng.aclose()
            assert result.exit_code == 0, result.log_path.read_text()
        assert "first-run" in (tmp_path / "1.log").read_text()
    finally:
        docker_client.api.remove_volume(f"slipway-cache-{name}", force=True)


async def test_private_cache_is_fresh_per_job(engine: DockerEngine, tmp_path: Path) -> None:
    cache = CacheMount(name="scratch", path="/scratch", sharing=Sharing.PRIVATE)
    for n in range(2):
        spec = ContainerSpec(
            name=f"p{n}",
            image=PY,
            caches=(cache,),
            commands=(sh("test ! -e /scratch/was-here && touch /scratch/was-here"),),
        )
        result = await engine.run(spec, log_path=tmp_path / f"{n}.log", output_dir=tmp_path)
        assert result.exit_code == 0, result.log_path.read_text()


async def test_postgres_service_reachable_by_name_once_healthy(engine: DockerEngine, tmp_path: Path) -> None:
    db = ServiceSpec(
        name="db",
        image=PG,
        env=(("POSTGRES_USER", "app"), ("POSTGRES_PASSWORD", "pw"), ("POSTGRES_DB", "appdb")),
        port=5432,
        readiness=Readiness(kind=ReadinessKind.HEALTHCHECK, timeout_s=60),
    )
    spec = ContainerSpec(
        name="integration",
        image=PG,  # for its psql client
        services=(db,),
        env=(("PGPASSWORD", "pw"),),
        commands=(
            ("psql", "-h", "db", "-U", "app", "-d", "appdb", "-tAc", "select 40 + 2"),
            ("psql", "-h", "db", "-U", "app", "-d", "appdb", "-c", "CREATE DATABASE w1 TEMPLATE appdb"),
        ),
    )
    result = await engine.run(spec, log_path=tmp_path / "pg.log", output_dir=tmp_path)
    log = result.log_path.read_text()
    assert result.exit_code == 0, log
    assert "service db ready after" in log
    assert "\n42\n" in log


async def test_service_readiness_by_command(engine: DockerEngine, tmp_path: Path) -> None:
    web = ServiceSpec(
        name="web",
        image=PY,
        command=("python", "-m", "http.server", "8080"),
        readiness=Readiness(
            kind=ReadinessKind.COMMAND,
            command=("python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080')"),
            timeout_s=30,
        ),
    )
    spec = ContainerSpec(
        name="client",
        image=PY,
        services=(web,),
        commands=(
            ("python", "-c", "import urllib.request as u; print(u.urlopen('http://web:8080').status)"),
        ),
    )
    result = await engine.run(spec, log_path=tmp_path / "web.log", output_dir=tmp_path)
    log = result.log_path.read_text()
    assert result.exit_code == 0, log
    assert "200" in log


async def test_service_never_ready_is_a_failed_result(engine: DockerEngine, tmp_path: Path) -> None:
    deaf = ServiceSpec(
        name="deaf",
        image=PY,
        command=("sleep", "600"),
        port=9,
        readiness=Readiness(kind=ReadinessKind.TCP, timeout_s=2, interval_s=0.2),
    )
    spec = ContainerSpec(name="waits", image=PY, services=(deaf,), commands=(("true",),))
    with anyio.fail_after(30):
        result = await engine.run(spec, log_path=tmp_path / "w.log", output_dir=tmp_path)
    assert result.exit_code == EXIT_SERVICE_NOT_READY
    assert "service deaf not ready after 2s" in result.log_path.read_text()


SERVE_ONCE = """
import http.server, pathlib
pathlib.Path('/work/a-was-here').touch()
server = http.server.HTTPServer(('', 8000), http.server.SimpleHTTPRequestHandler)
server.timeout = 60
server.handle_request()
"""

REACH_A = """
import os, sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen('http://job-a:8000/', timeout=2).read()
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit('job-a is not reachable by name')
sys.exit('job-a wrote into my /work' if os.path.exists('/work/a-was-here') else 0)
"""


async def test_two_jobs_share_the_network_not_files(engine: DockerEngine, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "shared.txt").write_text("same source\n")
    results = {}

    async def job(name: str, script: str) -> None:
        spec = ContainerSpec(
            name=name,
            image=PY,
            directories=(DirectoryMount(source=src, dest="/work"),),
            commands=(("python", "-c", script),),
        )
        results[name] = await engine.run(spec, log_path=tmp_path / f"{name}.log", output_dir=tmp_path / name)

    with anyio.fail_after(90):
        async with anyio.create_task_group() as tg:
            tg.start_soon(job, "job-a", SERVE_ONCE)
            tg.start_soon(job, "job-b", REACH_A)
    assert results["job-b"].exit_code == 0, results["job-b"].log_path.read_text()
    assert results["job-a"].exit_code == 0, results["job-a"].log_path.read_text()


async def test_cancellation_leaves_nothing(
    engine: DockerEngine, docker_client: docker.DockerClient, run_id: str, tmp_path: Path
) -> None:
    spec = ContainerSpec(
        name="slow",
        image=PY,
        services=(ServiceSpec(name="side", image=PY, command=("sleep", "600")),),
        caches=(CacheMount(name="p", path="/p", sharing=Sharing.PRIVATE),),
        commands=(("sleep", "600"),),
    )
    log = tmp_path / "slow.log"
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(spec, log_path=log, output_dir=tmp_path))
            while not (log.exists() and "$ sleep 600" in log.read_text()):
                await anyio.sleep(0.1)
            assert any(o.startswith("container") for o in run_objects(docker_client, run_id))
            tg.cancel_scope.cancel()
    # run's own cleanup took its containers, job network and private volume...
    assert [o for o in run_objects(docker_client, run_id) if not o.startswith("network slipway-t")] == []
    await engine.aclose()
    # ...and aclose the run's network.
    assert run_objects(docker_client, run_id) == []


async def test_secrets_are_masked_in_the_log(
    engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = f"tok-{uuid.uuid4().hex}"
    monkeypatch.setenv("SLIPWAY_TEST_TOKEN", value)
    spec = ContainerSpec(
        name="deploy",
        image=PY,
        secrets=("SLIPWAY_TEST_TOKEN",),
        commands=(sh('echo "token=$SLIPWAY_TEST_TOKEN"; test -n "$SLIPWAY_TEST_TOKEN"'),),
    )
    result = await engine.run(spec, log_path=tmp_path / "d.log", output_dir=tmp_path)
    log = result.log_path.read_text()
    assert result.exit_code == 0, log
    assert f"token={MASK}" in log
    assert value not in log
    assert not any(value in line for line in engine.describe(spec))


async def test_limits_are_visible_in_the_container_cgroup(engine: DockerEngine, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="limited",
        image=PY,
        limits=Limits(cpus=0.5, memory_bytes=256 * 1024 * 1024),
        commands=(
            sh(
                "cat /sys/fs/cgroup/cpu.max 2>/dev/null"
                " || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
                " /sys/fs/cgroup/cpu/cpu.cfs_period_us);"
                " cat /sys/fs/cgroup/memory.max 2>/dev/null"
                " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
            ),
        ),
    )
    result = await engine.run(spec, log_path=tmp_path / "l.log", output_dir=tmp_path)
    log = result.log_path.read_text()
    assert result.exit_code == 0, log
    assert "50000 100000\n" in log
    assert f"{256 * 1024 * 1024}\n" in log


async def test_a_command_past_its_memory_limit_is_said_killed_by_the_oom_killer(
    engine: DockerEngine, tmp_path: Path
) -> None:
    spec = ContainerSpec(
        name="hog",
        image=PY,
        limits=Limits(memory_bytes=32 * 1024 * 1024),
        commands=(("python3", "-c", "b = bytearray(256 * 1024 * 1024)"), ("echo", "never")),
    )
    result = await engine.run(spec, log_path=tmp_path / "hog.log", output_dir=tmp_path)
    log = result.log_path.read_text()
    assert (result.exit_code, result.oom_killed) == (137, True), log
    assert "killed by the OOM killer: the command went past the job's memory limit of 32 MiB" in log
    # Killed by someone else (SIGKILL, 137 too): not the OOM killer.
    killed = ContainerSpec(name="killed", image=PY, limits=Limits(memory_bytes=64 * 1024 * 1024),
                           commands=(sh("kill -9 $$"),))
    result = await engine.run(killed, log_path=tmp_path / "killed.log", output_dir=tmp_path)
    assert (result.exit_code, result.oom_killed) == (137, False), result.log_path.read_text()


async def test_build_with_aliased_from_works_offline(
    engine: DockerEngine, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile.test").write_text(
        'FROM python:3.11-slim AS base\nRUN echo built > /built\nFROM base\nCMD ["true"]\n'
    )
    tag = f"slipway-test/built:{uuid.uuid4().hex[:8]}"
    build = ImageBuild(context=tmp_path, dockerfile="Dockerfile.test", tags=(tag,))
    try:
        ref = await engine.build_image(build, log_path=tmp_path / "build.log")
        assert ref == tag
        spec = ContainerSpec(name="uses-build", image=ImageRef(ref=ref), commands=(("cat", "/built"),))
        result = await engine.run(spec, log_path=tmp_path / "run.log", output_dir=tmp_path)
        assert result.exit_code == 0
        assert "built\n" in result.log_path.read_text()
    finally:
        docker_client.api.remove_image(tag, force=True)


async def test_missing_image_fails_the_job_and_says_how_to_get_it(engine: DockerEngine, tmp_path: Path) -> None:
    spec = ContainerSpec(name="x", image=ImageRef(ref="slipway-test/absent:1"), commands=(("true",),))
    # The engine is there: an unknown image is this job's failure, not "no engine".
    with pytest.raises(EngineJobError, match=r"images bootstrap.*alias"):
        await engine.run(spec, log_path=tmp_path / "x.log", output_dir=tmp_path)


async def test_unreachable_daemon_says_how_to_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    eng = DockerEngine(RunContext(run_id="t-nodaemon"))
    spec = ContainerSpec(name="x", image=PY, commands=(("true",),))
    with pytest.raises(EngineUnavailable, match=r"unix:///nonexistent.*dockerd.*DOCKER_HOST"):
        await eng.run(spec, log_path=tmp_path / "x.log", output_dir=tmp_path)
    await eng.aclose()


def test_describe_runs_nothing(docker_client: docker.DockerClient) -> None:
    eng = DockerEngine(RunContext(run_id="t-describe"), aliases={"python:3.11-slim": "slipway/python:3.11"})
    spec = ContainerSpec(
        name="api",
        image=PY,
        services=(ServiceSpec(name="db", image=PG, port=5432),),
        caches=(CacheMount(name="pip", path="/root/.cache/pip", sharing=Sharing.LOCKED),),
        directories=(DirectoryMount(source=Path("/src"), dest="/app", exclude=(".git",)),),
        commands=(("pytest", "-q"),),
        outputs=("/app/junit.xml",),
    )
    assert isinstance(eng, Engine)
    lines = eng.describe(spec)
    text = "\n".join(lines)
    assert "slipway/python:3.11 (alias of python:3.11-slim: used when present locally" in text
    assert "--network-alias db" in text
    assert "volume slipway-cache-pip -> /root/.cache/pip [locked]" in text
    assert "put_archive /src -> /app exclude=['.git']" in text
    assert "exec pytest -q" in text
    assert "get_archive /app/junit.xml" in text
    assert run_objects(docker_client, "t-describe") == []
    assert docker_client.api.containers(all=True, filters={"label": f"{LABEL_RUN}=t-describe"}) == []
