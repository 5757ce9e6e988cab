"""A pytest job's container: the pytest command line, the database variables, the
plugin copied in, and the worker count and CPU weight from the run's core budget."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from pipeline.config.model import Database, Service
from pipeline.model.spec import CacheMount, ContainerSpec, FileMount, ImageRef, Limits, ServiceSpec
from pipeline.stages.base import SOURCE_DIR, JobContext, memory_limit, services_for
from pipeline.stages.pytest import impact
from pipeline.stages.pytest.budget import budget_workers
from pipeline.stages.pytest.layout import NODE_IDS_FILE, OUT_DIR, PLUGIN_DIR, SESSION_FILE, TESTING, stage_of
from pipeline.stages.pytest.sources import source_mount
from pipeline.testing.workers import explain, scaled_workers

__all__ = [
    "NODE_IDS_FILE", "OUT_DIR", "PLUGIN_DIR", "SESSION_FILE", "TESTING",
    "Workers", "spec", "stage_of", "workers",
]  # fmt: skip
# Below two workers xdist is a serial run with extra overhead, and a group whose
# tests wait on PostgreSQL leaves its CPU idle while it waits; two per group is
# the floor, and on Docker the CPU weights still add up to the machine's cores.
MIN_WORKERS = 2
# PostgreSQL allows 63 bytes; the plugin appends "_template" or "_gw<N>".
DB_NAME_MAX = 40
DB_NAME_HASH = 8


def workdir(ctx: JobContext) -> str:
    return str(PurePosixPath(SOURCE_DIR) / stage_of(ctx).workdir)


def selection(ctx: JobContext) -> list[str]:
    return list(stage_of(ctx).paths)


# pipeline/testing's modules -> the top-level modules they are in the container.
PLUGIN_MODULES = {
    "plugin.py": "slipway_pytest_plugin",  # loaded with -p
    "databases.py": "slipway_pytest_db",
    "sessiondb.py": "slipway_pytest_sessiondb",
    "shapes.py": "slipway_pytest_shapes",
    "covcontext.py": "slipway_pytest_cov",
    "causes.py": "slipway_pytest_causes",
    "phases.py": "slipway_pytest_phases",  # loaded with -p
    "progress.py": "slipway_pytest_progress",  # loaded with -p: tests done / total, worker timings
}
# Modules of pipeline/ itself that the plugin's modules import (standard library only too):
# shared with pipeline.detect, which may not import pipeline/testing.
SHARED_MODULES = {
    "conftestscan.py": "slipway_pytest_conftestscan",  # imported by shapes.py
}


def plugin_files() -> tuple[FileMount, ...]:
    """Slipway's pytest plugin and its modules, as top-level modules in the container."""
    sources = [(TESTING / name, module) for name, module in PLUGIN_MODULES.items()]
    sources += [(TESTING.parent / name, module) for name, module in SHARED_MODULES.items()]
    return tuple(FileMount(source=source, dest=f"{PLUGIN_DIR}/{module}.py") for source, module in sources)


def weights(ctx: JobContext, running: Collection[str] | None = None) -> list[tuple[str, int]]:
    """Each pytest job's expected work (last run's seconds, else an equal share); with
    ``running``, only those jobs (the job cache answers the others: they use no CPU)."""
    last = ctx.run.last_durations
    return [
        (j.name, max(1, round(last.get(j.name, 60.0))))
        for j in ctx.run.jobs
        if j.kind == "pytest" and (running is None or j.name in running)
    ]


def budget(ctx: JobContext, running: Collection[str] | None = None) -> tuple[int, float | None]:
    """(xdist workers, CPU weight) for this job from the run's shared core budget.

    The pytest jobs of a run start together (they need nothing), so they share the
    cores: CPU weights (Docker's ``cpu_shares``, not caps) proportional to expected
    work add up to the cores while the jobs compete; when one ends, its cores go to
    the others instead of sitting idle under a fixed quota. Worker counts follow the
    same shares with a floor of ``MIN_WORKERS``.
    """
    stage = stage_of(ctx)
    shares = weights(ctx, running) or [(ctx.job.name, 1)]
    total = ctx.run.options.total_cpus
    counts = budget_workers(total, shares)
    mine = dict(shares).get(ctx.job.name, 1)
    share = total * mine / sum(w for _, w in shares)
    workers = (
        stage.workers if isinstance(stage.workers, int) else max(MIN_WORKERS, counts.get(ctx.job.name, 1))
    )
    weight = round(max(share, 0.5), 2) if len(shares) > 1 else None
    return workers, weight


CAP_VARIABLE = "SLIPWAY_WORKERS_CAP"  # the impact plugin's cap for -n auto


@dataclass(frozen=True, slots=True)
class Workers:
    """The job's xdist workers: the count (0: in-process) and CPU weight, and whether
    the impact plugin scales the count to its selection in the container (``auto``:
    ``count`` is then the most it may start); ``choice`` is what the log says."""

    count: int
    weight: float | None
    auto: bool = False
    choice: str = ""


def workers(
    ctx: JobContext,
    running: Collection[str] | None = None,
    *,
    tests: int | None = None,
    baseline: Path | None = None,
) -> Workers:
    """The budget's workers, scaled down when the job runs few tests: a shard's count
    (``tests``) is known here; an impact selection only in the container, once the
    plugin has judged the stored record (``baseline``): it gets ``-n auto`` and a cap.
    A stage's own ``workers:`` number, and ``dist: no``, are kept as they are."""
    count, weight = budget(ctx, running)
    stage = stage_of(ctx)
    if isinstance(stage.workers, int) or stage.dist == "no":
        return Workers(count, weight)
    if tests is not None:
        return Workers(scaled_workers(count, tests), weight, choice=explain(count, tests, "this shard"))
    if baseline is not None and stage.impact is not None:
        choice = f"xdist: at most -n {count}; the impact plugin scales it to the tests it selects"
        return Workers(count, weight, auto=True, choice=choice)
    return Workers(count, weight)


def pytest_args(ctx: JobContext, *, workers: int, select: list[str], auto: bool = False) -> list[str]:
    """The pytest argv after ``python -m pytest`` (the project's own options still apply:
    ours come later on the command line, so they win where both set the same one)."""
    stage = stage_of(ctx)
    args = [
        *select,
        "-p", "slipway_pytest_plugin",
        "-p", "slipway_pytest_phases",
        "-p", "slipway_pytest_progress",
        "-p", "no:cacheprovider",
    ]  # fmt: skip
    if workers == 0 or stage.dist == "no":
        args += ["-n", "0"]  # in-process; still overrides a project's own -n in addopts
    elif auto:  # the impact plugin answers xdist's auto count (SLIPWAY_WORKERS_CAP)
        args += ["-n", "auto", "--maxprocesses", str(workers), "--dist", stage.dist]
    else:
        args += ["-n", str(workers), "--dist", stage.dist]
    args += ["--junitxml", f"{OUT_DIR}/junit.xml", "-o", "junit_family=xunit1"]
    if stage.markers:
        args += ["-m", stage.markers]
    if stage.reruns:
        args += ["--reruns", str(stage.reruns)]
    if stage.coverage is not None:
        args += [f"--cov={src}" for src in stage.coverage.source] or ["--cov"]
        args += [f"--cov-report=xml:{OUT_DIR}/coverage.xml", "--cov-report="]
        # One group's share of the coverage says nothing about the project's: a project's
        # fail_under is checked on the combined report (coverage.threshold), not per job.
        args += ["--cov-fail-under=0"]
    for option in stage.override_ini:
        args += ["-o", option]
    args += impact.args(ctx)
    args += list(stage.addopts)
    return args


def progress_env() -> list[tuple[str, str]]:
    """The progress plugin's switches: its lines for the live view, its session file
    (pytest's rootdir and the xdist workers' timings) among the outputs."""
    return [("SLIPWAY_PROGRESS", "1"), ("SLIPWAY_SESSION_FILE", SESSION_FILE)]


def database_name(base: str, job: str) -> str:
    """``<base>_<job>``, PostgreSQL-safe; a name too long for the plugin's suffixes keeps
    its start and gets a hash of the whole, so two long job names never share one."""
    name = re.sub(r"[^a-z0-9_]", "_", f"{base}_{job}".lower())
    if len(name) <= DB_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:DB_NAME_HASH]
    return f"{name[: DB_NAME_MAX - DB_NAME_HASH - 1]}_{digest}"


def admin_credentials(db: Database, service: Service) -> tuple[str, str]:
    """The role that creates the databases: the config's, else the one the service's own
    env makes (the postgres image's POSTGRES_USER / POSTGRES_PASSWORD)."""
    user = db.user or service.env.get("POSTGRES_USER") or "postgres"
    # A throwaway test database inside the run's own network, not a credential; with no
    # POSTGRES_PASSWORD the image trusts every connection and ignores it.
    password = db.password or service.env.get("POSTGRES_PASSWORD") or "postgres"
    return user, password


def database_env(ctx: JobContext) -> list[tuple[str, str]]:
    db = stage_of(ctx).database
    if db is None:
        return []
    service = ctx.run.config.model.services[db.service]
    port = service.port or 5432
    user, password = admin_credentials(db, service)
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    admin = f"{db.url_scheme}://{credentials}@{db.service}:{port}/postgres"
    # One run's groups each have their own PostgreSQL, but a shared server must
    # not see two jobs use one name: the job name goes into the database name.
    env = [
        ("SLIPWAY_DB_ADMIN_URL", admin),
        ("SLIPWAY_DB_NAME", database_name(db.name, ctx.job.name)),
        ("SLIPWAY_DB_SHAPE", db.per_worker),
        # The server is the run's own service, removed with the run: dropping the job's
        # databases at its end is wasted work after the last test, and slow while another
        # job writes to the same server (27 s of the api job's 29 s tail in the 3,000-test
        # bench, beside the integration job; 2 s alone). A job's names are its own, and
        # its start drops what an earlier attempt left, so nothing is reused by mistake.
        ("SLIPWAY_DB_KEEP", "1"),
    ]
    if db.migrate:
        env.append(("SLIPWAY_DB_MIGRATE", json.dumps(list(db.migrate))))
        cwd = str(PurePosixPath(workdir(ctx)) / db.migrate_cwd) if db.migrate_cwd else workdir(ctx)
        env.append(("SLIPWAY_DB_MIGRATE_CWD", cwd))
    if db.env:
        env.append(("SLIPWAY_DB_ENV", json.dumps(db.env)))
    return env


def container_env(ctx: JobContext) -> dict[str, str]:
    """Slipway's variables, the database's, then the stage's. A stage's PYTHONPATH is
    joined after the plugin's directory, never put in its place (that would unload the
    plugin); Slipway's own plugin settings cannot be replaced by the stage."""
    stage = stage_of(ctx)
    ours = {
        "PYTHONPATH": PLUGIN_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "COVERAGE_FILE": f"{OUT_DIR}/.coverage",
        "SLIPWAY_OUT_DIR": OUT_DIR,
        "SLIPWAY_EARLY_STOP": str(stage.early_stop),
        "SLIPWAY_PHASES_FILE": f"{OUT_DIR}/phases.json",
        **dict(progress_env()),
        **dict(database_env(ctx)),
    }
    env = {**ours, **{k: v for k, v in stage.env.items() if not k.startswith("SLIPWAY_")}}
    theirs = stage.env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = ":".join([PLUGIN_DIR, *(p for p in theirs.split(":") if p and p != PLUGIN_DIR)])
    return env


def shared_database(ctx: JobContext, services: tuple[ServiceSpec, ...]) -> tuple[ServiceSpec, ...]:
    """The database service is the run's one server (each job has its own template and
    clones on it, ``database_name``): one PostgreSQL per run instead of one per job."""
    db = stage_of(ctx).database
    return tuple(replace(s, shared=True) if db is not None and s.name == db.service else s for s in services)


def spec(
    ctx: JobContext,
    *,
    image: str,
    select: list[str],
    node_ids: Path | None = None,
    running: Collection[str] | None = None,
    baseline: Path | None = None,
    tests: int | None = None,
) -> ContainerSpec:
    """``tests``: how many the job runs, when known before it starts (a shard's)."""
    stage = stage_of(ctx)
    chosen = workers(ctx, running, tests=tests, baseline=baseline)
    files = [*plugin_files(), *impact.files(ctx, baseline)]
    if node_ids is not None:
        files.append(FileMount(source=node_ids, dest=NODE_IDS_FILE))
    env = {**container_env(ctx), **impact.env(ctx, baseline)}
    if chosen.auto:
        env[CAP_VARIABLE] = str(chosen.count)
    args = pytest_args(ctx, workers=chosen.count, select=select, auto=chosen.auto)
    return ContainerSpec(
        name=ctx.job.name,
        image=ImageRef(ref=image),
        commands=(
            ("mkdir", "-p", OUT_DIR),
            ("python", "-m", "pytest", *args),
        ),
        directories=(
            source_mount(
                ctx.run.config.project_root,
                SOURCE_DIR,
                include=stage.include,
                exclude=stage.exclude,
                report_dir=ctx.run.report_dir,
            ),
        ),
        files=tuple(files),
        caches=(
            CacheMount(name="pip", path="/root/.cache/pip"),
            CacheMount(name="uv", path="/root/.cache/uv"),
        ),
        services=shared_database(ctx, services_for(ctx, stage.services)),
        env=tuple(sorted(env.items())),
        secrets=tuple(stage.secrets),
        workdir=workdir(ctx),
        outputs=(OUT_DIR,),
        limits=Limits(cpu_weight=chosen.weight, memory_bytes=memory_limit(stage)),
    )
