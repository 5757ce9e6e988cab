"""The wrong results of the Dagger path, fixed at the level of the query (no engine runs).

Each test reads back the lazy query a spec becomes, or calls the pure function the
engine uses, for one fix of issue 10: freshness (a nonce in every chain whose result
must be fresh, none in builds), killed commands, HEALTHCHECK vs TCP readiness, loopback
readiness commands, PRIVATE caches, .dockerignore, the error boundary, the session log.
The live tests (tests/integration/test_dagger_live.py) show the same on an engine.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio
import dagger
import gql
import graphql
import pytest
from dagger._exceptions import QueryErrorValue

from pipeline.engines.dagger.chain import (
    NONCE_VAR,
    Setting,
    build_container,
    job_chain,
    readiness_probe,
    service,
)
from pipeline.engines.dagger.errors import DaggerJobFailed, SessionLost, dagger_errors
from pipeline.engines.dagger.job import killed_note, signal_name
from pipeline.engines.dagger.readback import describe_chain
from pipeline.engines.dagger.readiness import names_loopback, probe_command
from pipeline.engines.dagger.session import SessionLog
from pipeline.model.errors import EngineJobError, EngineUnavailable
from pipeline.model.paths import dockerignore
from pipeline.model.secrets import Redactor
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    ImageBuild,
    ImageRef,
    Readiness,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)

pytestmark = pytest.mark.unit


def spec(**kw: Any) -> ContainerSpec:
    kw.setdefault("name", "unit")
    kw.setdefault("image", ImageRef(ref="python:3.11-slim"))
    kw.setdefault("commands", (("pytest", "-q"),))
    return ContainerSpec(**kw)


def names(obj: Any) -> list[str]:
    return [f.name for f in obj._ctx.selections]


def env_values(obj: Any, var: str) -> list[str]:
    return [
        f.args["value"]
        for f in obj._ctx.selections
        if f.name == "withEnvVariable" and f.args.get("name") == var
    ]


# --- freshness: the job cache decides reuse, not the engine ------------------------------


def test_the_nonce_is_the_last_step_before_the_commands() -> None:
    chain = job_chain(spec(env=(("A", "1"),)), Setting(), secrets={}, nonce="n1")
    assert names(chain.container)[-1] == "withEnvVariable"
    assert env_values(chain.container, NONCE_VAR) == ["n1"]


def test_two_runs_of_the_same_spec_are_two_different_queries() -> None:
    # The same spec with two nonces: Dagger's cache key differs, so it runs twice (a
    # failure is not replayed); everything before the nonce is the same (layers kept).
    one = describe_chain(job_chain(spec(), Setting(), secrets={}, nonce="n1").container)
    two = describe_chain(job_chain(spec(), Setting(), secrets={}, nonce="n2").container)
    assert one != two
    assert one[:-1] == two[:-1]


def test_a_rotated_secret_runs_again_because_of_the_nonce_not_the_secret() -> None:
    s = spec(secrets=("TOKEN",))
    old = job_chain(s, Setting(), secrets={"TOKEN": "old"}, nonce="n1").container
    new = job_chain(s, Setting(), secrets={"TOKEN": "new"}, nonce="n2").container
    assert env_values(old, NONCE_VAR) != env_values(new, NONCE_VAR)


def test_a_readiness_probe_is_fresh_too() -> None:
    pg = ServiceSpec(
        name="db",
        image=ImageRef(ref="postgres:15"),
        port=5432,
        readiness=Readiness(kind=ReadinessKind.COMMAND, command=("pg_isready", "-h", "db")),
    )
    svc = service(pg, Setting(), owner="j")
    made = readiness_probe(pg, Setting(), svc, "n7")
    assert made is not None
    assert env_values(made[0], NONCE_VAR) == ["n7"]


def test_an_image_build_keeps_dagger_s_cache(tmp_path: Path) -> None:
    build = build_container(ImageBuild(context=tmp_path))
    assert NONCE_VAR not in "".join(describe_chain(build))


# --- services ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("readiness", "dropped"),
    [
        (None, True),
        (Readiness(kind=ReadinessKind.TCP), True),
        (Readiness(kind=ReadinessKind.COMMAND, command=("true",)), True),
        (Readiness(kind=ReadinessKind.HEALTHCHECK), False),
    ],
)
def test_an_image_healthcheck_decides_only_when_asked_for(readiness: Readiness | None, dropped: bool) -> None:
    svc = ServiceSpec(name="db", image=ImageRef(ref="postgres:15"), port=5432, readiness=readiness)
    assert ("withoutDockerHealthcheck" in names(service(svc, Setting()))) is dropped


# --- readiness commands that name the loopback --------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("pg_isready", "-h", "127.0.0.1", "-U", "postgres"), ("pg_isready", "-h", "db", "-U", "postgres")),
        (("curl", "-f", "http://localhost:8000/health"), ("curl", "-f", "http://db:8000/health")),
        (("wget", "http://[::1]:80/"), ("wget", "http://db:80/")),
        (("redis-cli", "-h", "::1", "ping"), ("redis-cli", "-h", "db", "ping")),
        (("sh", "-c", "nc -z 127.0.0.1 5432"), ("sh", "-c", "nc -z db 5432")),
        (("x", "--host=localhost"), ("x", "--host=db")),
    ],
)
def test_a_loopback_host_becomes_the_service_name(
    command: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    rewritten, note = probe_command(command, "db")
    assert rewritten == expected
    assert note is not None
    assert "beside the service" in note
    assert f"Write `{' '.join(expected)}`" in note


@pytest.mark.parametrize(
    "command",
    [
        ("pg_isready", "-h", "db"),
        ("curl", "http://mylocalhost:1/"),
        ("x", "localhost.example.com"),
        ("x", "127.0.0.1.nip.io"),
    ],
)
def test_other_hosts_are_left_alone(command: tuple[str, ...]) -> None:
    assert not names_loopback(command)
    assert probe_command(command, "db") == (command, None)


def test_the_example_s_readiness_line_works_on_both_engines() -> None:
    # pipeline.yaml names the service; the Docker engine execs it in the service
    # container, where its own name resolves to itself (tests/integration covers that).
    text = (Path(__file__).parents[2] / "pipeline.yaml").read_text()
    assert "command: [pg_isready, -h, postgres, -U, postgres]" in text
    assert not names_loopback(("pg_isready", "-h", "postgres"))


# --- caches -------------------------------------------------------------------------------


def test_private_caches_are_a_volume_per_call() -> None:
    cache = CacheMount(name="tmp", path="/t", sharing=Sharing.PRIVATE)
    one = describe_chain(job_chain(spec(caches=(cache,)), Setting(), secrets={}, nonce="a").container)
    two = describe_chain(job_chain(spec(caches=(cache,)), Setting(), secrets={}, nonce="b").container)
    assert '.with_mounted_cache("/t", cache_volume("tmp-private-a"))' in one
    assert '.with_mounted_cache("/t", cache_volume("tmp-private-b"))' in two


# --- .dockerignore ---------------------------------------------------------------------------


def test_only_what_dockerignore_keeps_is_uploaded(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# comment\n.venv\n\n**/__pycache__\nDockerfile*\n!keep.txt\n")
    build = build_container(ImageBuild(context=tmp_path))
    sel = build._ctx.selections[1]
    assert sel.name == "directory"
    assert sel.args["exclude"] == [".venv", "**/__pycache__", "Dockerfile*", "!keep.txt", "!Dockerfile"]


def test_a_dockerfile_s_own_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "Dockerfile.test.dockerignore").write_text("*\n!src\n")
    assert dockerignore(tmp_path, "Dockerfile.test") == ("*", "!src", "!Dockerfile.test")
    assert dockerignore(tmp_path, "Dockerfile") == ("a", "!Dockerfile")
    assert dockerignore(tmp_path / "none") == ()


# --- killed commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"), [(137, "SIGKILL"), (139, "SIGSEGV"), (143, "SIGTERM"), (1, None), (128, None)]
)
def test_signal_exit_codes_are_named(code: int, name: str | None) -> None:
    assert signal_name(code) == name


def test_a_killed_command_says_what_was_lost() -> None:
    note = killed_note(["pytest", "-x"], 137)
    assert "SIGKILL (out of memory, or killed): exit code 137" in note
    assert "what it wrote is lost" in note


# --- the error boundary -------------------------------------------------------------------------


def _query_error(message: str, ext: dict[str, Any] | None = None) -> dagger.QueryError:
    request = gql.GraphQLRequest(graphql.parse("{ version }"))
    return dagger.QueryError([QueryErrorValue(message=message, extensions=ext or {})], request)


async def _raise(exc: BaseException) -> None:
    async with dagger_errors("do it"):
        raise exc


def test_a_query_error_fails_one_job() -> None:
    with pytest.raises(DaggerJobFailed) as info:
        anyio.run(_raise, _query_error('failed to resolve image "docker.io/nosuch/x:1": not found'))
    assert isinstance(info.value, EngineJobError)
    assert not isinstance(info.value, EngineUnavailable)
    assert "nosuch/x" in str(info.value)


def test_an_exec_error_keeps_its_exit_code_and_output() -> None:
    ext = {"_type": "EXEC_ERROR", "cmd": ["make"], "exitCode": 2, "stdout": "out\n", "stderr": "err\n"}
    with pytest.raises(DaggerJobFailed) as info:
        anyio.run(_raise, _query_error("exit code: 2", ext))
    assert info.value.command_exit == 2
    assert info.value.output == "out\nerr\n"
    assert info.value.exit_code == 1  # the CLI's exit code for a failed run, untouched


@pytest.mark.parametrize(
    "exc", [dagger.TransportError("connection reset"), dagger.ClientConnectionError("refused")]
)
def test_a_lost_session_stops_the_run(exc: Exception) -> None:
    with pytest.raises(SessionLost) as info:
        anyio.run(_raise, exc)
    assert info.value.exit_code == 2


# --- the session's log ----------------------------------------------------------------------------


def test_the_session_log_is_appended_plain_and_redacted(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "dagger-session.log"
    path.parent.mkdir()
    path.write_text("earlier\n")
    log = SessionLog(path, Redactor(["s3cr3t-value"]))
    with pytest.raises(io.UnsupportedOperation):
        log.fileno()  # so the SDK drains the CLI's output through write(), not straight to the file
    log.writelines(["\x1b[95m1   : \x1b[0mwithExec echo s3cr", "3t-value\n", "line two\npartial"])
    log.close()
    assert path.read_text() == "earlier\n1   : withExec echo ***\nline two\npartial\n"
