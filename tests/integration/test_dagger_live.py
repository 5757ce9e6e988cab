"""The Dagger engine on a live engine: Slipway's own, built from Go modules.

Each test runs specs through ``DaggerEngine`` as a run does (one session, jobs at once)
and checks what issue 10 found wrong: replayed results, killed commands, aliases with
no registry, services (readiness, crashes, cold pulls, isolation), one job's engine
error, publish digests, secrets in logs, and the same engine reached over tcp://.
The CLI-level behaviours (^C under `dagger run`, a dead engine, --no-cache twice, the
example end to end) are in test_dagger_run.py.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import anyio
import pytest

from pipeline.engines.base import RunResult
from pipeline.engines.dagger.connection import DaggerTarget
from pipeline.model.errors import EngineJobError, EngineUnavailable
from pipeline.model.secrets import Redactor
from pipeline.model.spec import (
    ContainerSpec,
    DirectoryMount,
    ImageBuild,
    ImageRef,
    Readiness,
    ReadinessKind,
    ServiceSpec,
)
from tests.integration.dagger_live import (
    RUNNER_REGISTRY,
    build_and_publish,
    engine,
    find_engine,
    push_cold,
    registry_digest,
    remote,
    require_runner_registry,
    run,
    text,
)

pytestmark = [pytest.mark.dagger, pytest.mark.timeout(900)]

PY = ImageRef(ref="python:3.11-slim")  # aliased to slipway/python:3.11: no registry has it
PG = ImageRef(ref="postgres:15")
PG_ENV = (("POSTGRES_PASSWORD", "pw"), ("POSTGRES_USER", "postgres"))
NONCE_CMD = ("python3", "-c", "import uuid; print('nonce', uuid.uuid4().hex)")


@pytest.fixture(scope="module")
def target() -> DaggerTarget:
    return find_engine()


def nonce_of(result: object) -> str:
    return next(line for line in text(result).splitlines() if line.startswith("nonce "))  # type: ignore[arg-type]


def postgres(
    readiness: tuple[str, ...] = ("pg_isready", "-h", "db", "-U", "postgres"), **kw: object
) -> ServiceSpec:
    return ServiceSpec(
        name="db",
        image=kw.pop("image", PG),  # type: ignore[arg-type]
        env=PG_ENV,
        port=5432,
        readiness=Readiness(kind=ReadinessKind.COMMAND, command=readiness, **kw),  # type: ignore[arg-type]
    )


# --- results are never replayed ---------------------------------------------------------


def test_the_same_spec_twice_runs_twice(target: DaggerTarget, tmp_path: Path) -> None:
    spec = ContainerSpec(name="twice", image=PY, commands=(NONCE_CMD,))
    (first,) = run(target, [spec], tmp_path / "1")
    (second,) = run(target, [spec], tmp_path / "2")
    assert nonce_of(first) != nonce_of(second)


def test_a_failing_command_is_not_replayed(target: DaggerTarget, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="fails", image=PY, commands=(("sh", "-c", "echo ran-at $(date +%s%N); exit 3"),)
    )
    (first,) = run(target, [spec], tmp_path / "1")
    (second,) = run(target, [spec], tmp_path / "2")
    assert isinstance(first, RunResult) and isinstance(second, RunResult)
    assert first.exit_code == second.exit_code == 3
    stamp = [next(ln for ln in text(r).splitlines() if ln.startswith("ran-at")) for r in (first, second)]
    assert stamp[0] != stamp[1]  # the second failure is a second run, not the first replayed


# --- killed commands ------------------------------------------------------------------------


def test_a_killed_command_reports_137_and_keeps_earlier_outputs(target: DaggerTarget, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="killed",
        image=PY,
        commands=(
            ("sh", "-c", "mkdir -p /out && echo before > /out/a.txt"),
            ("sh", "-c", "echo dying; echo lost > /out/b.txt; kill -9 $$"),
        ),
        outputs=("/out",),
    )
    (result,) = run(target, [spec], tmp_path)
    assert isinstance(result, RunResult)
    assert result.exit_code == 137
    log = text(result)
    assert "dying" in log
    assert "was killed by SIGKILL (out of memory, or killed): exit code 137" in log
    assert (result.outputs["/out"] / "a.txt").read_text() == "before\n"
    assert not (result.outputs["/out"] / "b.txt").exists()


# --- images with no registry ------------------------------------------------------------------


def test_an_aliased_image_and_an_aliased_dockerfile_from(target: DaggerTarget, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\nRUN python3 -c 'print(1)' > /built.txt\n")
    (ctx / ".dockerignore").write_text(".venv\n")
    (ctx / ".venv").mkdir()
    (ctx / ".venv" / "huge.bin").write_bytes(b"x" * 1024)
    specs = [
        ContainerSpec(name="ref", image=PY, commands=(("sh", "-c", "cat /etc/debian_version; python3 -V"),)),
        ContainerSpec(
            name="from",
            image=ImageBuild(context=ctx),
            commands=(("sh", "-c", "cat /built.txt; test ! -e /.venv && echo ignored-kept-out"),),
        ),
    ]
    ref, built = run(target, specs, tmp_path)
    assert isinstance(ref, RunResult) and ref.exit_code == 0, text(ref)
    assert "Python 3.11" in text(ref)
    assert isinstance(built, RunResult) and built.exit_code == 0, text(built)
    assert "ignored-kept-out" in text(built)


# --- services ------------------------------------------------------------------------------------


def test_the_example_s_postgres_and_readiness(target: DaggerTarget, tmp_path: Path) -> None:
    client = (
        "python3",
        "-c",
        "import socket; socket.create_connection(('db', 5432), 5); print('db reachable')",
    )
    # The bundled pipeline.yaml's line, and the loopback form older files have (rewritten).
    specs = [
        ContainerSpec(name="named", image=PY, services=(postgres(),), commands=(client,)),
        ContainerSpec(
            name="loopback",
            image=PY,
            services=(postgres(("pg_isready", "-h", "127.0.0.1", "-U", "postgres")),),
            commands=(client,),
        ),
    ]
    named, loopback = run(target, specs, tmp_path)
    for result in (named, loopback):
        assert isinstance(result, RunResult) and result.exit_code == 0, text(result)
        assert "db reachable" in text(result)
        assert "[slipway] service db: ready" in text(result)
    assert "ran `pg_isready -h db -U postgres` instead" in text(loopback)


def test_broken_jobs_fail_alone(target: DaggerTarget, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY missing.txt /\n")
    crashing = ServiceSpec(name="db", image=PY, port=5432, command=("sh", "-c", "echo crashed; exit 4"))
    specs = [
        ContainerSpec(name="crash", image=PY, services=(crashing,), commands=(("true",),)),
        ContainerSpec(
            name="unpullable",
            image=ImageRef(ref=f"nosuch/image:{uuid.uuid4().hex[:8]}"),
            commands=(("true",),),
        ),
        ContainerSpec(name="copy", image=ImageBuild(context=ctx), commands=(("true",),)),
        ContainerSpec(name="fine", image=PY, commands=(("echo", "fine"),)),
    ]
    crash, unpullable, copy, fine = run(target, specs, tmp_path)
    assert isinstance(crash, RunResult) and crash.exit_code == 125
    assert "service db exited before it was ready" in text(crash)
    for failed, what in ((unpullable, "nosuch/image"), (copy, "missing.txt")):
        assert isinstance(failed, EngineJobError), failed
        assert not isinstance(failed, EngineUnavailable)
        assert what in str(failed)
    assert isinstance(fine, RunResult) and fine.exit_code == 0


def test_a_cold_service_start_does_not_time_out(target: DaggerTarget, tmp_path: Path) -> None:
    # A name no engine pulled yet: its pull takes longer than the readiness timeout, which
    # counts only from the start of the service.
    name = f"pgcold:{uuid.uuid4().hex[:10]}"
    assert target.mirror is not None
    push_cold("slipway/postgres:15", name, target.mirror)
    svc = postgres(image=ImageRef(ref=name), timeout_s=15)
    spec = ContainerSpec(name="cold", image=PY, services=(svc,), commands=(("echo", "started"),))
    (result,) = run(target, [spec], tmp_path, aliases={})
    assert isinstance(result, RunResult) and result.exit_code == 0, text(result)


def test_two_jobs_with_their_own_postgres_stay_isolated(target: DaggerTarget, tmp_path: Path) -> None:
    def job(name: str, script: str) -> ContainerSpec:
        return ContainerSpec(
            name=name,
            image=PG,
            services=(postgres(),),
            env=(("PGPASSWORD", "pw"),),
            commands=(("sh", "-c", script),),
        )

    specs = [
        job(
            "a",
            "psql -h db -U postgres -c 'CREATE DATABASE only_in_a' && sleep 5 && psql -h db -U postgres -lqt",
        ),
        job(
            "b",
            "sleep 3; psql -h db -U postgres -lqt | cut -d'|' -f1 | grep -qw only_in_a && echo SHARED || echo ISOLATED",
        ),
    ]
    a, b = run(target, specs, tmp_path)
    assert isinstance(a, RunResult) and a.exit_code == 0, text(a)
    assert "only_in_a" in text(a)
    assert isinstance(b, RunResult) and b.exit_code == 0, text(b)
    assert "ISOLATED" in text(b).splitlines()  # the line echoed, not the command that says it


def test_a_shared_postgres_is_one_instance_that_outlives_the_job_that_started_it(
    target: DaggerTarget, tmp_path: Path
) -> None:
    """main's shared services on Dagger: no owner, so the second job binds the first job's
    instance, and the first job's end does not stop it (only the session's end does)."""
    shared = dataclasses.replace(postgres(), shared=True)

    def job(name: str, script: str) -> ContainerSpec:
        return ContainerSpec(
            name=name,
            image=PG,
            services=(shared,),
            env=(("PGPASSWORD", "pw"),),
            commands=(("sh", "-c", script),),
        )

    first = job("a", "psql -h db -U postgres -c 'CREATE DATABASE made_by_a'")
    second = job(
        "b",
        "psql -h db -U postgres -lqt | cut -d'|' -f1 | grep -qw made_by_a && echo SHARED || echo ISOLATED",
    )

    async def one_after_the_other() -> list[RunResult]:
        eng = engine(target, tmp_path)
        try:
            return [
                await eng.run(s, log_path=tmp_path / f"{s.name}.log", output_dir=tmp_path / f"out-{s.name}")
                for s in (first, second)
            ]
        finally:
            await eng.aclose()

    a, b = anyio.run(one_after_the_other)
    assert a.exit_code == 0, text(a)
    assert b.exit_code == 0, text(b)
    assert "SHARED" in text(b).splitlines()  # the line echoed, not the command that says it
    assert {"services", "commands", "cleanup"} <= a.phases.keys()


# --- publish ----------------------------------------------------------------------------------------


def test_publish_returns_the_registry_s_digest(target: DaggerTarget, tmp_path: Path) -> None:
    require_runner_registry()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN echo {uuid.uuid4().hex} > /stamp\n")
    dest = f"{RUNNER_REGISTRY}/slipway-live/publish:{uuid.uuid4().hex[:8]}"
    digest = build_and_publish(target, ImageBuild(context=ctx), dest, tmp_path)
    assert digest.startswith("sha256:")
    assert registry_digest(dest) == digest


# --- secrets ----------------------------------------------------------------------------------------


def test_a_secret_never_reaches_a_log(
    target: DaggerTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("LIVE_TOKEN", value)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\n")
    leak = ("sh", "-c", 'echo "token=$LIVE_TOKEN"; echo "err=$LIVE_TOKEN" >&2')
    specs = [
        ContainerSpec(name="ok", image=PY, secrets=("LIVE_TOKEN",), commands=(leak,)),
        ContainerSpec(
            name="fails", image=PY, secrets=("LIVE_TOKEN",), commands=((*leak[:2], leak[2] + "; exit 1"),)
        ),
        ContainerSpec(
            name="killed",
            image=PY,
            secrets=("LIVE_TOKEN",),
            commands=((*leak[:2], leak[2] + "; kill -9 $$"),),
        ),
        ContainerSpec(
            name="probe",
            image=PY,
            secrets=("LIVE_TOKEN",),
            services=(
                ServiceSpec(
                    name="svc",
                    image=PY,
                    port=8000,
                    env=(("NOT_SECRET", "x"),),
                    command=("python3", "-m", "http.server", "8000"),
                    readiness=Readiness(kind=ReadinessKind.COMMAND, command=("false",), timeout_s=2),
                ),
            ),
            commands=(("true",),),
        ),
    ]
    results = run(target, specs, tmp_path, redactor=Redactor([value]))
    assert [r.exit_code for r in results if isinstance(r, RunResult)] == [0, 1, 137, 125]
    logs = list(tmp_path.rglob("*.log"))
    assert any(p.name == "dagger-session.log" for p in logs)
    for path in logs:
        assert value not in path.read_text(errors="replace"), path
    assert "token=***" in text(results[0])


# --- a remote engine ----------------------------------------------------------------------------


def test_the_same_engine_over_tcp(target: DaggerTarget, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="remote",
        image=PY,
        services=(postgres(),),
        directories=(DirectoryMount(source=Path(__file__).parent, dest="/src", include=("dagger_live.py",)),),
        commands=(
            (
                "sh",
                "-c",
                "ls /src && python3 -c \"import socket; socket.create_connection(('db', 5432), 5)\"",
            ),
        ),
    )
    (result,) = run(remote(target), [spec], tmp_path)
    assert isinstance(result, RunResult) and result.exit_code == 0, text(result)
    assert "dagger_live.py" in text(result)
