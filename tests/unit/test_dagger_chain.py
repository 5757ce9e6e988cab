"""The exact Dagger calls each spec field makes, read back from the SDK's lazy query.

No engine runs here: dagger-io builds its query lazily, so the selections a
chain would send can be read without one (ENVIRONMENT.md, "Dagger here").
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import anyio
import dagger
import pytest
from dagger.client._session import SharedConnection
from dagger.client.base import Type

from pipeline.engines.base import Engine, RunContext
from pipeline.engines.dagger.chain import (
    NONCE_VAR,
    Setting,
    build_container,
    dagger_ref,
    full_chain,
    image_container,
    job_chain,
    readiness_probe,
)
from pipeline.engines.dagger.engine import NONCE_PLACEHOLDER, DaggerEngine
from pipeline.engines.dagger.readback import calls, describe_chain
from pipeline.model.ca import CA_ENV_VARS, CA_PATH
from pipeline.model.errors import EngineUnavailable, NotSupported, SecretMissing
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    DirectoryMount,
    FileMount,
    ImageBuild,
    ImageRef,
    Limits,
    Readiness,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)

pytestmark = pytest.mark.unit

Sel = tuple[str, str, dict[str, Any]]

FROM_PY = [("Query", "container", {}), ("Container", "from", {"address": "python:3.11-slim"})]
WORKDIR_ROOT = ("Container", "withWorkdir", {"path": "/"})
NONCE = "n0nce"
FRESH = ("Container", "withEnvVariable", {"name": NONCE_VAR, "value": NONCE})
PYTEST = ("Container", "withExec", {"args": ["pytest", "-q"], "expect": "ANY"})
NO_HEALTHCHECK = ("Container", "withoutDockerHealthcheck", {})


def sels(obj: Type) -> list[Sel]:
    """Selections as plain data; nested objects (directories, services...) as their own chain."""
    out: list[Sel] = []
    for f in obj._ctx.selections:
        args = {k: _plain(v) for k, v in f.args.items()}
        out.append((f.type_name, f.name, args))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Type):
        return sels(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def spec(**kw: Any) -> ContainerSpec:
    kw.setdefault("name", "unit")
    kw.setdefault("image", ImageRef(ref="python:3.11-slim"))
    kw.setdefault("commands", (("pytest", "-q"),))
    return ContainerSpec(**kw)


def setting(aliases: dict[str, str] | None = None, ca_bundle: Path | None = None, **kw: Any) -> Setting:
    return Setting(aliases=aliases or {}, ca_bundle=ca_bundle, **kw)


def chain_of(
    s: ContainerSpec,
    *,
    aliases: dict[str, str] | None = None,
    ca_bundle: Path | None = None,
    secrets: dict[str, str] | None = None,
) -> list[Sel]:
    chain = job_chain(s, setting(aliases, ca_bundle), secrets=secrets or {}, nonce=NONCE)
    return sels(full_chain(chain.container, s.commands))


def engine(environ: dict[str, str] | None = None, **kw: Any) -> DaggerEngine:
    return DaggerEngine(RunContext(run_id="r1"), environ=environ or {"PATH": ""}, **kw)


# --- image -------------------------------------------------------------------


def test_image_reference_is_pulled_with_from() -> None:
    assert chain_of(spec()) == [*FROM_PY, WORKDIR_ROOT, FRESH, PYTEST]


def test_an_alias_to_a_local_image_keeps_the_public_name_for_the_mirror() -> None:
    # The engine cannot pull a local Docker image: Slipway's engine finds it in its mirror
    # under the public name; any other engine pulls the public image.
    got = chain_of(spec(image=ImageRef(ref="python:3.12")), aliases={"python:3.12": "local/py:3.12"})
    assert got[:2] == [("Query", "container", {}), ("Container", "from", {"address": "python:3.12"})]


@pytest.mark.parametrize(
    ("ref", "target", "pulled"),
    [
        ("python:3.12", "registry.corp/python:3.12", "registry.corp/python:3.12"),
        ("python:3.12", "localhost:5000/py:3.12", "localhost:5000/py:3.12"),
        ("python:3.12", "corp:5000/py", "corp:5000/py"),
        ("python:3.12", "slipway/python:3.12", "python:3.12"),
        ("postgres", "slipway/postgres:15", "postgres"),
        ("redis:7", None, "redis:7"),
    ],
)
def test_an_alias_to_a_registry_is_pulled_from_it(ref: str, target: str | None, pulled: str) -> None:
    aliases = {ref if ":" in ref else f"{ref}:latest": target} if target else {}
    assert dagger_ref(ref, aliases) == pulled


def test_build_uses_docker_build_with_target_and_args(tmp_path: Path) -> None:
    build = ImageBuild(
        context=tmp_path,
        dockerfile="Dockerfile.test",
        target="test",
        args=(("PY", "3.11"), ("EXTRA", "dev")),
        tags=("ignored:by-dagger",),
    )
    assert chain_of(spec(image=build)) == [
        ("Query", "host", {}),
        ("Host", "directory", {"path": str(tmp_path)}),
        (
            "Directory",
            "dockerBuild",
            {
                "dockerfile": "Dockerfile.test",
                "buildArgs": [{"name": "PY", "value": "3.11"}, {"name": "EXTRA", "value": "dev"}],
                "target": "test",
            },
        ),
        WORKDIR_ROOT,
        FRESH,
        PYTEST,
    ]


def test_build_defaults_send_no_dockerfile_or_target(tmp_path: Path) -> None:
    got = chain_of(spec(image=ImageBuild(context=tmp_path)))
    # The SDK omits arguments equal to the schema default: Dockerfile, no target.
    assert got[2] == ("Directory", "dockerBuild", {})


def test_relative_host_paths_are_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    got = chain_of(spec(image=ImageBuild(context=Path("ctx"))))
    assert got[1] == ("Host", "directory", {"path": str(tmp_path / "ctx")})


# --- files and directories ------------------------------------------------------


def test_directories_are_copied_with_include_and_exclude(tmp_path: Path) -> None:
    s = spec(
        directories=(
            DirectoryMount(
                source=tmp_path / "src", dest="/src", include=("app/", "*.toml"), exclude=(".git",)
            ),
            DirectoryMount(source=tmp_path / "all", dest="/all"),
        )
    )
    assert chain_of(s) == [
        *FROM_PY,
        (
            "Container",
            "withDirectory",
            {
                "path": "/src",
                "source": [
                    ("Query", "host", {}),
                    (
                        "Host",
                        "directory",
                        {"path": str(tmp_path / "src"), "exclude": [".git"], "include": ["app/", "*.toml"]},
                    ),
                ],
            },
        ),
        (
            "Container",
            "withDirectory",
            {
                "path": "/all",
                "source": [("Query", "host", {}), ("Host", "directory", {"path": str(tmp_path / "all")})],
            },
        ),
        WORKDIR_ROOT,
        FRESH,
        PYTEST,
    ]


def test_files_are_copied_with_with_file(tmp_path: Path) -> None:
    s = spec(files=(FileMount(source=tmp_path / "plugin.py", dest="/opt/slipway/plugin.py"),))
    assert chain_of(s)[2] == (
        "Container",
        "withFile",
        {
            "path": "/opt/slipway/plugin.py",
            "source": [("Query", "host", {}), ("Host", "file", {"path": str(tmp_path / "plugin.py")})],
        },
    )


# --- caches ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sharing", "key", "sent"),
    [
        (Sharing.SHARED, "pip", None),
        (Sharing.LOCKED, "pip", "LOCKED"),
        # The engine treats PRIVATE like LOCKED on 0.21: a volume of the call's own instead.
        (Sharing.PRIVATE, f"pip-private-{NONCE}", None),
    ],
)
def test_cache_volume_with_each_sharing_mode(sharing: Sharing, key: str, sent: str | None) -> None:
    s = spec(caches=(CacheMount(name="pip", path="/root/.cache/pip", sharing=sharing),))
    args: dict[str, Any] = {"path": "/root/.cache/pip", "cache": [("Query", "cacheVolume", {"key": key})]}
    if sent is not None:
        # SHARED is the schema default, so the SDK does not send it.
        args["sharing"] = sent
    assert chain_of(s) == [*FROM_PY, ("Container", "withMountedCache", args), WORKDIR_ROOT, FRESH, PYTEST]


def test_sharing_modes_are_the_sdk_enum_members() -> None:
    s = spec(caches=tuple(CacheMount(name=m.value, path=f"/c/{m.value}", sharing=m) for m in Sharing))
    lines = describe_chain(job_chain(s, setting(), secrets={}, nonce=NONCE).container)
    assert '.with_mounted_cache("/c/shared", cache_volume("shared"))' in lines
    assert '.with_mounted_cache("/c/locked", cache_volume("locked"), sharing=LOCKED)' in lines
    assert f'.with_mounted_cache("/c/private", cache_volume("private-private-{NONCE}"))' in lines
    assert {m.name for m in dagger.CacheSharingMode} >= {"SHARED", "LOCKED", "PRIVATE"}


# --- services -------------------------------------------------------------------


PG = ServiceSpec(
    name="db",
    image=ImageRef(ref="postgres:15"),
    env=(("POSTGRES_PASSWORD", "pw"), ("PGDATA", "/tmp/pg")),
    port=5432,
    command=("postgres", "-c", "fsync=off"),
)

PG_SERVICE = [
    ("Query", "container", {}),
    ("Container", "from", {"address": "postgres:15"}),
    NO_HEALTHCHECK,
    ("Container", "withEnvVariable", {"name": "POSTGRES_PASSWORD", "value": "pw"}),
    ("Container", "withEnvVariable", {"name": "PGDATA", "value": "/tmp/pg"}),
    ("Container", "withEnvVariable", {"name": "SLIPWAY_SERVICE_OWNER", "value": "unit"}),
    ("Container", "withExposedPort", {"port": 5432}),
    ("Container", "asService", {"args": ["postgres", "-c", "fsync=off"], "useEntrypoint": True}),
]


def test_service_with_port_env_and_command_is_bound_by_name() -> None:
    got = chain_of(spec(services=(PG,)), aliases={"postgres:15": "local/postgres:15"})
    assert got == [
        *FROM_PY,
        ("Container", "withServiceBinding", {"alias": "db", "service": PG_SERVICE}),
        WORKDIR_ROOT,
        FRESH,
        PYTEST,
    ]


def test_service_without_port_or_command_exposes_nothing_and_keeps_default_command() -> None:
    redis = ServiceSpec(name="cache", image=ImageRef(ref="redis:7"))
    got = chain_of(spec(services=(redis,)))
    assert got[2] == (
        "Container",
        "withServiceBinding",
        {
            "alias": "cache",
            "service": [
                ("Query", "container", {}),
                ("Container", "from", {"address": "redis:7"}),
                NO_HEALTHCHECK,
                ("Container", "withEnvVariable", {"name": "SLIPWAY_SERVICE_OWNER", "value": "unit"}),
                ("Container", "asService", {"useEntrypoint": True}),
            ],
        },
    )


def test_services_of_two_jobs_are_distinct_instances() -> None:
    one = job_chain(spec(name="a", services=(PG,)), setting(), secrets={}, nonce=NONCE)
    two = job_chain(spec(name="b", services=(PG,)), setting(), secrets={}, nonce=NONCE)
    assert sels(one.services[0][1]) != sels(two.services[0][1])


def test_a_shared_service_has_no_owner_so_every_job_binds_one_instance() -> None:
    shared = dataclasses.replace(PG, shared=True)
    one = job_chain(spec(name="a", services=(shared,)), setting(), secrets={}, nonce=NONCE)
    two = job_chain(spec(name="b", services=(shared,)), setting(), secrets={}, nonce="other")
    assert sels(one.services[0][1]) == sels(two.services[0][1])
    assert sels(one.services[0][1]) == [s for s in PG_SERVICE if "SLIPWAY_SERVICE_OWNER" not in str(s)]
    assert any(
        line.startswith("# shared db: no owner") for line in engine().describe(spec(services=(shared,)))
    )
    assert not any(line.startswith("# shared") for line in engine().describe(spec(services=(PG,))))


def test_the_bound_service_is_the_one_the_engine_starts() -> None:
    chain = job_chain(spec(services=(PG,)), setting(), secrets={}, nonce=NONCE)
    binding = chain.container._ctx.selections[2]
    assert binding.args["service"] is chain.services[0][1]


def test_command_readiness_runs_a_probe_bound_to_the_service() -> None:
    pg = ServiceSpec(
        name="db",
        image=ImageRef(ref="postgres:15"),
        port=5432,
        readiness=Readiness(
            kind=ReadinessKind.COMMAND, command=("pg_isready", "-h", "db"), timeout_s=30.5, interval_s=0.25
        ),
    )
    chain = job_chain(spec(services=(pg,)), setting(), secrets={}, nonce=NONCE)
    svc = chain.services[0][1]
    made = readiness_probe(pg, setting(), svc, NONCE)
    assert made is not None
    probe, note = made
    assert note is None
    got = sels(probe)
    assert got[:3] == [
        ("Query", "container", {}),
        ("Container", "from", {"address": "postgres:15"}),
        NO_HEALTHCHECK,
    ]
    assert got[3][:2] == ("Container", "withServiceBinding")
    assert got[3][2]["alias"] == "db"
    assert probe._ctx.selections[3].args["service"] is svc
    # A probe's "ready" is never replayed from an earlier run's cache.
    assert got[4] == FRESH
    kind, name, args = got[5]
    assert (kind, name) == ("Container", "withExec")
    # expect is left at SUCCESS (not sent): a probe that gives up fails the evaluation.
    assert set(args) == {"args"}
    argv = args["args"]
    assert argv[:2] == ["sh", "-c"]
    assert argv[3:] == ["probe-db", "pg_isready", "-h", "db"]  # argv passed as "$@", not spliced
    assert "+ 31 ))" in argv[2]
    assert "sleep 0.25" in argv[2]


@pytest.mark.parametrize("kind", [ReadinessKind.TCP, ReadinessKind.HEALTHCHECK])
def test_tcp_and_healthcheck_readiness_need_no_probe(kind: ReadinessKind) -> None:
    pg = ServiceSpec(name="db", image=ImageRef(ref="postgres:15"), port=5432, readiness=Readiness(kind=kind))
    chain = job_chain(spec(services=(pg,)), setting(), secrets={}, nonce=NONCE)
    assert readiness_probe(pg, setting(), chain.services[0][1], NONCE) is None
    assert readiness_probe(PG, setting(), chain.services[0][1], NONCE) is None  # no readiness at all


# --- env, secrets, workdir, user ----------------------------------------------------


def test_env_variables_in_order() -> None:
    got = chain_of(spec(env=(("PYTHONDONTWRITEBYTECODE", "1"), ("DJANGO_SETTINGS", "app.test"))))
    assert got[2:4] == [
        ("Container", "withEnvVariable", {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}),
        ("Container", "withEnvVariable", {"name": "DJANGO_SETTINGS", "value": "app.test"}),
    ]


SECRET_VALUE = "hunter2-very-secret"


def test_secret_is_set_by_name_and_its_value_never_printed() -> None:
    s = spec(secrets=("DB_PASSWORD",))
    chain = job_chain(s, setting(), secrets={"DB_PASSWORD": SECRET_VALUE}, nonce=NONCE)
    ctr = full_chain(chain.container, s.commands)
    got = sels(ctr)
    assert got[2] == (
        "Container",
        "withSecretVariable",
        {
            "name": "DB_PASSWORD",
            "secret": [("Query", "setSecret", {"name": "DB_PASSWORD", "plaintext": SECRET_VALUE})],
        },
    )
    printed = "\n".join(describe_chain(ctr))
    assert 'with_secret_variable("DB_PASSWORD", set_secret("DB_PASSWORD", ***))' in printed
    assert SECRET_VALUE not in printed
    # The job chain's own selections hold the secret as an object, never its value.
    assert SECRET_VALUE not in repr(ctr._ctx.selections)
    assert SECRET_VALUE not in repr(calls(ctr))


def test_describe_needs_no_secret_value_and_masks_it() -> None:
    s = spec(secrets=("API_TOKEN",))
    lines = engine().describe(s)
    assert '.with_secret_variable("API_TOKEN", set_secret("API_TOKEN", ***))' in lines


def test_run_with_a_missing_secret_says_which(tmp_path: Path) -> None:
    with pytest.raises(SecretMissing, match="API_TOKEN"):
        anyio.run(_run, engine(), spec(secrets=("API_TOKEN",)), tmp_path)


def test_workdir_and_user() -> None:
    got = chain_of(spec(workdir="/src", user="1000:1000"))
    assert got[2:4] == [
        ("Container", "withWorkdir", {"path": "/src"}),
        ("Container", "withUser", {"name": "1000:1000"}),
    ]


# --- commands, outputs, limits, CA bundle ---------------------------------------------


def test_each_command_is_one_with_exec_expecting_any_exit() -> None:
    s = spec(commands=(("python", "-m", "pip", "check"), ("pytest", "-x"), ("sh", "-c", "echo $HOME")))
    assert chain_of(s)[3:] == [
        FRESH,
        ("Container", "withExec", {"args": ["python", "-m", "pip", "check"], "expect": "ANY"}),
        ("Container", "withExec", {"args": ["pytest", "-x"], "expect": "ANY"}),
        ("Container", "withExec", {"args": ["sh", "-c", "echo $HOME"], "expect": "ANY"}),
    ]
    assert dagger.ReturnType.ANY.name == "ANY"


def test_outputs_add_no_call_to_the_chain_and_are_described() -> None:
    s = spec(outputs=("/src/reports", "/src/junit.xml"))
    assert chain_of(s) == chain_of(spec())
    lines = engine().describe(s)
    assert lines[-1].startswith("# then, also after a failure:")
    assert "'/src/reports'" in lines[-1]
    assert "'/src/junit.xml'" in lines[-1]


def test_limits_are_ignored_and_said_so() -> None:
    s = spec(limits=Limits(cpus=2.0, memory_bytes=2**30))
    assert chain_of(s) == chain_of(spec())
    assert engine().describe(s)[-1] == (
        "# limits cpus=2.0 memory_bytes=1073741824 not applied: "
        "Dagger has no per-container CPU or memory limits"
    )
    assert not any(line.startswith("# limits") for line in engine().describe(spec()))


def test_a_cpu_weight_is_ignored_and_said_so() -> None:
    s = spec(limits=Limits(cpu_weight=512))
    assert chain_of(s) == chain_of(spec())
    assert engine().describe(s)[-1] == (
        "# limits cpus=None memory_bytes=None cpu_weight=512 not applied: "
        "Dagger has no per-container CPU or memory limits"
    )


def test_ca_bundle_is_copied_in_and_named_by_the_usual_variables(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    got = chain_of(spec(), ca_bundle=bundle)
    assert got == [
        *FROM_PY,
        (
            "Container",
            "withFile",
            {
                "path": CA_PATH,
                "source": [("Query", "host", {}), ("Host", "file", {"path": str(bundle)})],
            },
        ),
        *[("Container", "withEnvVariable", {"name": var, "value": CA_PATH}) for var in CA_ENV_VARS],
        WORKDIR_ROOT,
        FRESH,
        PYTEST,
    ]


def test_services_get_the_same_ca_bundle_and_variables_as_the_job(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    chain = job_chain(spec(services=(PG,)), setting(ca_bundle=bundle), secrets={}, nonce=NONCE)
    service_calls = describe_chain(chain.services[0][1])
    text = "".join(service_calls)
    assert f'with_file("{CA_PATH}", host().file("{bundle}"))' in text
    for var in CA_ENV_VARS:
        assert f'with_env_variable("{var}", "{CA_PATH}")' in text


def test_full_spec_order_and_describe(tmp_path: Path) -> None:
    s = spec(
        image=ImageRef(ref="python"),
        env=(("CI", "1"),),
        caches=(CacheMount(name="pip", path="/root/.cache/pip", sharing=Sharing.LOCKED),),
        services=(PG,),
        directories=(DirectoryMount(source=tmp_path, dest="/src", exclude=(".venv",)),),
        secrets=("TOKEN",),
        workdir="/src",
        user="app",
        commands=(("pytest",), ("coverage", "xml")),
    )
    e = engine(
        aliases={"python": "python:3.11-slim"},
        ca_bundle=tmp_path / "ca.crt",
        mirrored=frozenset({"python:3.11-slim"}),
    )
    lines = e.describe(s)
    assert lines[0].startswith('service db = container().from_("postgres:15").without_docker_healthcheck()')
    assert lines[0].endswith('.as_service(args=["postgres", "-c", "fsync=off"], use_entrypoint=True)')
    assert lines[1:] == [
        'container().from_("python:3.11-slim")',
        f'.with_file("{CA_PATH}", host().file("{tmp_path}/ca.crt"))',
        *[f'.with_env_variable("{var}", "{CA_PATH}")' for var in CA_ENV_VARS],
        '.with_env_variable("CI", "1")',
        '.with_mounted_cache("/root/.cache/pip", cache_volume("pip"), sharing=LOCKED)',
        '.with_service_binding("db", db)',
        f'.with_directory("/src", host().directory("{tmp_path}", exclude=[".venv"]))',
        '.with_secret_variable("TOKEN", set_secret("TOKEN", ***))',
        '.with_workdir("/src")',
        '.with_user("app")',
        f'.with_env_variable("{NONCE_VAR}", "{NONCE_PLACEHOLDER}")',
        '.with_exec(["pytest"], expect=ANY)',
        '.with_exec(["coverage", "xml"], expect=ANY)',
        "# services: image pulled first, then started (start) and probed before the first command, "
        "stopped after the last",
        "# each with_exec is evaluated (exit_code) before the next: the first failure stops",
        f"# {NONCE_PLACEHOLDER}: a nonce per run, so Dagger never replays an earlier result",
    ]


def test_describe_is_read_from_the_query_not_a_second_printer() -> None:
    # Every described line of the job maps to one selection, in order.
    s = spec(env=(("A", "1"),), commands=(("true",), ("false",)))
    chain = job_chain(s, setting(), secrets={}, nonce=NONCE)
    ctr = full_chain(chain.container, s.commands)
    lines = describe_chain(ctr)
    names = [c.method for c in calls(ctr)]
    assert names == [
        "container",
        "from_",
        "with_env_variable",
        "with_workdir",
        "with_env_variable",  # the nonce
        "with_exec",
        "with_exec",
    ]
    assert [line.split("(")[0].lstrip(".") for line in lines[1:]] == names[2:]


def test_build_describe_uses_sdk_spelling(tmp_path: Path) -> None:
    s = spec(image=ImageBuild(context=tmp_path, target="test", args=(("A", "1"),)))
    assert engine().describe(s)[0] == (
        f'host().directory("{tmp_path}")'
        '.docker_build(build_args=[BuildArg(name="A", value="1")], target="test")'
    )


# --- the engine without an engine ----------------------------------------------------


async def _run(e: DaggerEngine, s: ContainerSpec, tmp: Path) -> None:
    await e.run(s, log_path=tmp / "job.log", output_dir=tmp / "out")


def test_engine_satisfies_the_protocol() -> None:
    assert isinstance(engine(), Engine)
    assert engine().name == "dagger"


def test_run_without_any_engine_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.engines.dagger.connection.slipway_engine", lambda: None)
    with pytest.raises(EngineUnavailable) as info:
        anyio.run(_run, engine({"PATH": str(tmp_path)}), spec(), tmp_path)
    msg = str(info.value)
    assert "dagger run" in msg
    assert "python -m pipeline engine dagger --start" in msg
    assert "--engine docker" in msg
    assert info.value.exit_code == 2
    assert not (tmp_path / "job.log").exists()  # nothing started, nothing half-written


def test_build_image_without_any_engine_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No engine here even on a machine where Slipway's engine runs.
    monkeypatch.setattr("pipeline.engines.dagger.connection.slipway_engine", lambda: None)

    async def build() -> str:
        return await engine({"PATH": str(tmp_path)}).build_image(ImageBuild(context=tmp_path), log_path=tmp_path / "b.log")

    with pytest.raises(EngineUnavailable, match="--engine docker"):
        anyio.run(build)


def test_a_session_that_is_not_there_is_engine_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real SDK connection attempt to a port nobody listens on: the SDK's
    # error must come out as ours, with what to do.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {"DAGGER_SESSION_PORT": str(port), "DAGGER_SESSION_TOKEN": "t", "PATH": ""}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    e = engine(environ)
    with pytest.raises(EngineUnavailable, match="--engine docker"):
        anyio.run(_run, e, spec(), tmp_path)
    # The SDK's process-wide connection is left clean for a later session.
    assert not SharedConnection().is_connected()
    assert SharedConnection()._session is None


def test_what_dagger_cannot_do_says_what_to_use_instead(tmp_path: Path) -> None:
    e = engine()

    async def attempts() -> None:
        assert await e.image_digest("python:3.11-slim") is None
        with pytest.raises(NotSupported, match="--engine docker"):
            await e.cache_volume_empty("pip")
        with pytest.raises(NotSupported, match="--engine docker"):
            await e.export_cache_volume("pip", tmp_path / "v.tar")
        with pytest.raises(NotSupported, match="reproduce --shell needs --engine docker"):
            await e.shell(
                spec(), command=("sh",), log_path=tmp_path / "l", output_dir=tmp_path, announce=print
            )

    anyio.run(attempts)


def test_describe_shows_the_probe_bound_to_the_named_service() -> None:
    pg = ServiceSpec(
        name="db",
        image=ImageRef(ref="postgres:15"),
        port=5432,
        readiness=Readiness(kind=ReadinessKind.COMMAND, command=("pg_isready", "-h", "db")),
    )
    lines = engine().describe(spec(services=(pg,)))
    assert lines[1].startswith(
        'probe db = container().from_("postgres:15").without_docker_healthcheck()'
        f'.with_service_binding("db", db).with_env_variable("{NONCE_VAR}", "{NONCE_PLACEHOLDER}")'
        '.with_exec(["sh", "-c", '
    )
    assert lines[1].endswith('"probe-db", "pg_isready", "-h", "db"])')


def test_an_image_this_engine_built_is_used_by_its_ref(tmp_path: Path) -> None:
    built = build_container(ImageBuild(context=tmp_path, target="test"))
    s = spec(image=ImageRef(ref="dagger-build/0123456789abcdef"))
    chain = job_chain(s, setting(built={"dagger-build/0123456789abcdef": built}), secrets={}, nonce=NONCE)
    assert sels(chain.container)[:3] == [
        ("Query", "host", {}),
        ("Host", "directory", {"path": str(tmp_path)}),
        ("Directory", "dockerBuild", {"target": "test"}),
    ]
    assert image_container(ImageRef(ref="other"), setting(built={"x": built})) is not built
