"""The typed model of pipeline.yaml: frozen pydantic models, one per section and stage kind.

The JSON Schema in ``schema/pipeline.schema.json`` is generated from these
models (``python -m pipeline schema``), so the file, the loader and the schema
cannot disagree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pipeline.model.sizes import memory_problem

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"  # noqa: S105 (a pattern, not a value)
# Shards of a stage, in pipeline.yaml and in --shard i/N: more runners than tests is
# no plan (a fuzzed --shard 1/1000000 planned a million jobs: 3.9 s and 319 MB).
MAX_SHARDS = 256


def _unit_needed(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # YAML reads `memory: 512` as a number: bytes to Docker, megabytes to most people.
        raise PydanticCustomError("memory_size", "a number without a unit: write e.g. 512m or 1g")
    return value


def _memory(text: str) -> str:
    problem = memory_problem(text)
    if problem:
        raise PydanticCustomError("memory_size", problem)
    return text


Memory = Annotated[
    str | None,
    BeforeValidator(_unit_needed),
    AfterValidator(lambda v: None if v is None else _memory(v)),
    Field(
        description="The job container's memory limit, e.g. 256m or 1g (powers of 1024, at "
        "least 6m). Docker engine: past it the kernel's OOM killer ends the command and the job "
        "says so. Dagger engine: not applied (the job's log says so). Default: no limit.",
        json_schema_extra={"pattern": r"^\s*\d+(\.\d+)?\s*[kKmMgGtT]?([iI]?[bB])?\s*$"},
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Project(Model):
    name: str = Field(pattern=NAME_PATTERN, description="Project name, used in image and job names.")
    root: str = Field(".", description="Directory of the project, relative to pipeline.yaml.")


class TestBaseImage(Model):
    dockerfile: str = Field("Dockerfile.test", description="Dockerfile of the test base image.")
    context: str = Field(".", description="Build context, relative to pipeline.yaml.")
    key_files: tuple[str, ...] = Field(
        description="Dependency files (lock files...) whose content keys the image tag."
    )


class Images(Model):
    test_base: TestBaseImage | None = None
    bake: str = Field("docker-bake.hcl", description="The docker-bake.hcl file for app images.")
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description="Logical image name -> reference actually used (e.g. a local image).",
    )


class Readiness(Model):
    command: tuple[str, ...] | None = Field(None, description="argv that exits 0 when ready.")
    tcp: bool = Field(False, description="Ready when the port accepts connections.")
    healthcheck: bool = Field(False, description="Use the image's own HEALTHCHECK.")
    timeout_s: float = Field(60.0, gt=0)


class Service(Model):
    image: str
    env: dict[str, str] = Field(default_factory=dict)
    port: int | None = Field(None, ge=1, le=65535)
    command: tuple[str, ...] = ()
    readiness: Readiness | None = None


class Registry(Model):
    url: str = Field(description="host:port of the OCI registry, e.g. localhost:5000.")
    username: str | None = None
    password_secret: str | None = Field(
        None, pattern=SECRET_NAME_PATTERN, description="Name of the secret holding the password."
    )
    insecure: bool = Field(False, description="Plain HTTP (a local registry).")


class Cache(Model):
    enabled: bool = True
    dir: str | None = Field(None, description="Local store directory (default: user cache dir).")
    s3_bucket: str | None = None
    s3_prefix: str = "slipway"
    s3_endpoint_url: str | None = Field(None, description="For MinIO, R2, Ceph...")


class CacheVolume(Model):
    name: str = Field(pattern=NAME_PATTERN)
    path: str
    sharing: Literal["shared", "locked", "private"] = "shared"
    key_files: tuple[str, ...] = Field(
        (),
        description="Lock files (globs, relative to pipeline.yaml) whose content keys the "
        "volume's archive in the cache store; default: the lock files found in the "
        "stage's source directory.",
    )


class StageBase(Model):
    name: str = Field(pattern=NAME_PATTERN)
    needs: tuple[str, ...] = Field((), description="Stages that must succeed before this one.")
    group: str | None = Field(None, description="A label that --only/--skip also match.")
    secrets: tuple[str, ...] = Field((), description="Secret names this stage receives.")
    env: dict[str, str] = Field(default_factory=dict)
    timeout_s: float | None = Field(None, gt=0)


class Database(Model):
    service: str = Field(description="The PostgreSQL service the tests use.")
    name: str = Field("test", description="Base database name; workers get <name>_gw0...")
    user: str | None = Field(
        None, description="The role that creates the databases; default: the service's POSTGRES_USER."
    )
    password: str | None = Field(
        None, description="Its password; default: the service's POSTGRES_PASSWORD."
    )
    per_worker: Literal["auto", "shared", "conftest_suffix", "django"] = Field(
        "auto",
        description="How the project's conftest names its databases per xdist worker: shared (one "
        "database; Slipway gives each worker its own), conftest_suffix (the conftest appends the "
        "worker id: Slipway creates exactly those names), django (pytest-django's test_<name>); "
        "auto reads it from the conftests at run time. Said in the job's log.",
    )
    migrate: tuple[str, ...] | None = Field(
        None, description="argv run once into the template database, e.g. alembic upgrade head."
    )
    migrate_cwd: str | None = None
    env: dict[str, str] | None = Field(
        None,
        description="Variables to set per worker; values may use {dbname} {host} {port} {user} "
        "{password}. Default: DATABASE_URL.",
    )
    url_scheme: str = "postgresql"


class Impact(Model):
    full_on: tuple[str, ...] = Field(
        ("main", "master"),
        description="Branches on which every test runs (the record for the next run is still made).",
    )
    ignore: tuple[str, ...] = Field(
        (), description="Globs of files no test reads: a change there reruns nothing."
    )


class Coverage(Model):
    source: tuple[str, ...] = ()
    threshold: float | None = Field(None, ge=0, le=100)


class PytestStage(StageBase):
    kind: Literal["pytest"]
    workdir: str = Field(".", description="Directory under the project root pytest runs in.")
    paths: tuple[str, ...] = ()
    markers: str | None = Field(None, description="A -m expression.")
    services: tuple[str, ...] = ()
    database: Database | None = None
    shards: int = Field(1, ge=1, le=MAX_SHARDS)
    workers: int | Literal["auto"] = "auto"
    dist: Literal["worksteal", "load", "loadscope", "loadfile", "loadgroup", "no"] = "worksteal"
    addopts: tuple[str, ...] = Field((), description="Extra pytest options (override the project's).")
    override_ini: tuple[str, ...] = Field((), description="-o options, e.g. addopts= to drop theirs.")
    coverage: Coverage | None = None
    reruns: int = Field(0, ge=0, le=10)
    quarantine: tuple[str, ...] = Field((), description="Test ids that run but cannot fail the build.")
    impact: Impact | None = Field(
        None,
        description="Test impact analysis: rerun only the tests a change can affect. Unset: every test runs.",
    )
    early_stop: int = Field(
        20,
        ge=0,
        description="Stop the job when the first N tests all fail or error with the same cause "
        "(a systematic set-up fault); 0 never stops early.",
    )
    include: tuple[str, ...] = Field(
        (),
        description="What of the project root is copied into the test container (globs); "
        "default: everything but what .dockerignore and exclude leave out.",
    )
    exclude: tuple[str, ...] = Field((), description="Globs never copied into the test container.")
    memory: Memory = None


class CommandStage(StageBase):
    kind: Literal["command"]
    image: str
    commands: tuple[tuple[str, ...], ...] = Field(min_length=1)
    workdir: str = "."
    source: str = Field(".", description="Directory under the project root copied in.")
    exclude: tuple[str, ...] = ()
    caches: tuple[CacheVolume, ...] = ()
    services: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    memory: Memory = None


class BuildStage(StageBase):
    kind: Literal["build"]
    targets: tuple[str, ...] = Field(min_length=1, description="Targets of docker-bake.hcl.")
    push: bool = True


class AllowEntry(Model):
    id: str
    reason: str = Field(min_length=3)
    expires: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")


class ScanPolicy(Model):
    fail_on: Literal["low", "medium", "high", "critical"] = "high"
    unavailable: Literal["fail", "warn"] = "warn"
    allowlist: tuple[AllowEntry, ...] = ()


class ScanStage(StageBase):
    kind: Literal["scan"]
    scanners: tuple[Literal["hadolint", "bandit", "pip-audit", "npm-audit"], ...] = Field(
        min_length=1
    )
    paths: tuple[str, ...] = ()
    policy: ScanPolicy = ScanPolicy()


class Health(Model):
    http: str | None = Field(None, description="URL that must answer 2xx.")
    command: tuple[str, ...] | None = None
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(10, ge=0)
    interval_s: float = Field(1.0, ge=0)


class DeployStage(StageBase):
    kind: Literal["deploy"]
    environment: str = Field(pattern=NAME_PATTERN)
    target: Literal["docker", "command", "check"] = Field(
        "docker",
        description="docker: release containers behind the environment's proxy on `port`; "
        "command: run `command` with IMAGE, TAG, DIGEST, ENVIRONMENT; check: verify the live "
        "release with `health` and roll it back if it fails.",
    )
    images: tuple[str, ...] = Field((), description="Bake targets deployed.")
    port: int | None = Field(None, ge=1, le=65535, description="Host port the environment answers on.")
    container_port: int = Field(8000, ge=1, le=65535, description="Port the app listens on in its container.")
    drain_s: float = Field(
        2.0, ge=0, description="Seconds open connections get on the old release after the switch."
    )
    services: tuple[str, ...] = Field(
        (),
        description="docker target: services (from `services:`) kept running beside the "
        "environment's releases, reachable by name (e.g. its database).",
    )
    command: tuple[str, ...] | None = None
    promote_from: str | None = Field(None, description="Environment whose digest is promoted.")
    health: Health | None = None


Stage = Annotated[
    PytestStage | CommandStage | BuildStage | ScanStage | DeployStage,
    Field(discriminator="kind"),
]
STAGE_MODELS: dict[str, type[StageBase]] = {
    "pytest": PytestStage,
    "command": CommandStage,
    "build": BuildStage,
    "scan": ScanStage,
    "deploy": DeployStage,
}


class PipelineConfig(Model):
    """The whole of pipeline.yaml."""

    version: Literal[1] = 1
    project: Project
    variables: dict[str, str] = Field(
        default_factory=dict,
        description="Values for ${VAR} interpolation; GIT_SHA and BRANCH are always defined.",
    )
    secrets: tuple[Annotated[str, Field(pattern=SECRET_NAME_PATTERN)], ...] = Field(
        (), description="Secret names, read from the environment at run time; never values."
    )
    ca_bundle: str | None = Field(
        None, description="CA bundle mounted into every container (proxies, private CAs)."
    )
    images: Images = Images()
    registry: Registry | None = None
    cache: Cache = Cache()
    services: dict[str, Service] = Field(default_factory=dict)
    stages: tuple[Stage, ...] = Field(min_length=1)
