"""The ``pytest`` stage kind: one test group (or one shard of it) in its own container.

The container runs from the pre-baked test base image with the project copied
in, the group's services on its own network, Slipway's pytest plugin copied in
(per-worker PostgreSQL databases, no change to the project's conftest), and
pytest-xdist with a worker count taken from the run's CPU budget. JUnit XML,
coverage data and durations come back as artifacts, also when tests fail.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import anyio

from pipeline.config.model import PytestStage
from pipeline.model.errors import SlipwayError
from pipeline.model.outcome import JobOutcome, JobStatus, TestTotals
from pipeline.model.spec import CacheMount, ContainerSpec, DirectoryMount, FileMount, ImageRef, Limits
from pipeline.reports import junit
from pipeline.stages.base import SOURCE_DIR, JobContext, services_for
from pipeline.stages.command import DEFAULT_EXCLUDE
from pipeline.stages.pytest import durations as stored_durations
from pipeline.stages.pytest import shards as sharding
from pipeline.stages.pytest.budget import budget_workers
from pipeline.stages.pytest.image import build_info, ensure_test_image, test_image

TESTING = Path(__file__).resolve().parents[2] / "testing"  # pipeline/testing, copied in
PLUGIN_DIR = "/slipway"
OUT_DIR = "/slipway/out"
NODE_IDS_FILE = "/slipway/tests.txt"
# Below two workers xdist is a serial run with extra overhead, and a group whose
# tests wait on PostgreSQL leaves its CPU idle while it waits; two per group is
# the floor, and on Docker the CPU limits still add up to the machine's cores.
MIN_WORKERS = 2
# pytest's own exit codes (pytest.ExitCode) that mean "tests ran, some failed".
TESTS_FAILED = 1
NO_TESTS_COLLECTED = 5
COLLECTED_KEY = "pytest-collected:"


def _stage(ctx: JobContext) -> PytestStage:
    assert isinstance(ctx.stage, PytestStage)
    return ctx.stage


def workdir(ctx: JobContext) -> str:
    return str(PurePosixPath(SOURCE_DIR) / _stage(ctx).workdir)


def _weights(ctx: JobContext) -> list[tuple[str, int]]:
    """Each pytest job's expected work: last run's seconds, else an equal share."""
    # The run read last-run.json once when it started (it changes only when a run ends).
    last = ctx.run.last_durations
    return [(j.name, max(1, round(last.get(j.name, 60.0)))) for j in ctx.run.jobs if j.kind == "pytest"]


def budget(ctx: JobContext) -> tuple[int, float | None]:
    """(xdist workers, CPU limit) for this job from the run's shared core budget.

    The pytest jobs of a run start together (they need nothing), so they share the
    cores: CPU limits proportional to expected work add up to the cores exactly;
    worker counts follow the same shares with a floor of ``MIN_WORKERS``.
    """
    stage = _stage(ctx)
    weights = _weights(ctx) or [(ctx.job.name, 1)]
    total = ctx.run.options.total_cpus
    counts = budget_workers(total, weights)
    weight = dict(weights).get(ctx.job.name, 1)
    share = total * weight / sum(w for _, w in weights)
    workers = (
        stage.workers if isinstance(stage.workers, int) else max(MIN_WORKERS, counts.get(ctx.job.name, 1))
    )
    limit = round(max(share, 0.5), 2) if len(weights) > 1 else None
    return workers, limit


def pytest_args(ctx: JobContext, *, workers: int, select: list[str]) -> list[str]:
    """The pytest argv after ``python -m pytest`` (the project's own options still apply:
    ours come later on the command line, so they win where both set the same one)."""
    stage = _stage(ctx)
    args = [*select, "-p", "slipway_pytest_plugin", "-p", "no:cacheprovider"]
    if workers == 0 or stage.dist == "no":
        args += ["-n", "0"]  # in-process; still overrides a project's own -n in addopts
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
    for option in stage.override_ini:
        args += ["-o", option]
    args += list(stage.addopts)
    return args


def _db_env(ctx: JobContext) -> list[tuple[str, str]]:
    stage = _stage(ctx)
    db = stage.database
    if db is None:
        return []
    service = ctx.run.config.model.services[db.service]
    port = service.port or 5432
    admin = f"{db.url_scheme}://{db.user}:{db.password}@{db.service}:{port}/postgres"
    # One run's groups each have their own PostgreSQL, but a shared server must
    # not see two jobs use one name: the job name goes into the database name.
    # PostgreSQL-safe and short enough for the plugin's "<name>_template" / "_gw<N>".
    name = re.sub(r"[^a-z0-9_]", "_", f"{db.name}_{ctx.job.name}".lower())[:40]
    env = [("SLIPWAY_DB_ADMIN_URL", admin), ("SLIPWAY_DB_NAME", name)]
    if db.migrate:
        env.append(("SLIPWAY_DB_MIGRATE", json.dumps(list(db.migrate))))
        cwd = str(PurePosixPath(workdir(ctx)) / db.migrate_cwd) if db.migrate_cwd else workdir(ctx)
        env.append(("SLIPWAY_DB_MIGRATE_CWD", cwd))
    if db.env:
        env.append(("SLIPWAY_DB_ENV", json.dumps(db.env)))
    return env


def spec(ctx: JobContext, *, image: str, select: list[str], node_ids: Path | None = None) -> ContainerSpec:
    stage = _stage(ctx)
    workers, limit = budget(ctx)
    files = [
        FileMount(source=TESTING / "plugin.py", dest=f"{PLUGIN_DIR}/slipway_pytest_plugin.py"),
    ]
    if node_ids is not None:
        files.append(FileMount(source=node_ids, dest=NODE_IDS_FILE))
    env = {
        "PYTHONPATH": PLUGIN_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "COVERAGE_FILE": f"{OUT_DIR}/.coverage",
        **dict(_db_env(ctx)),
        **stage.env,
    }
    return ContainerSpec(
        name=ctx.job.name,
        image=ImageRef(ref=image),
        commands=(
            ("mkdir", "-p", OUT_DIR),
            ("python", "-m", "pytest", *pytest_args(ctx, workers=workers, select=select)),
        ),
        directories=(
            DirectoryMount(source=ctx.run.config.project_root, dest=SOURCE_DIR, exclude=DEFAULT_EXCLUDE),
        ),
        files=tuple(files),
        caches=(
            CacheMount(name="pip", path="/root/.cache/pip"),
            CacheMount(name="uv", path="/root/.cache/uv"),
        ),
        services=services_for(ctx, stage.services),
        env=tuple(sorted(env.items())),
        secrets=tuple(stage.secrets),
        workdir=workdir(ctx),
        outputs=(OUT_DIR,),
        limits=Limits(cpus=limit),
    )


def _selection(ctx: JobContext) -> list[str]:
    return list(_stage(ctx).paths)


def specs(ctx: JobContext) -> list[ContainerSpec]:
    image = test_image(ctx.run.config).tag
    if ctx.job.shard is None:
        return [spec(ctx, image=image, select=_selection(ctx))]
    # The shard's tests are known only after the group is collected (once per run).
    return [spec(ctx, image=image, select=[f"@{NODE_IDS_FILE}"], node_ids=Path("tests.txt"))]


def cache_inputs(ctx: JobContext) -> tuple[str, ...] | None:
    # The tree pytest runs in decides the result (sources, tests, conftest, config);
    # the test image tag in the spec already covers the dependency files. A frontend
    # beside it does not.
    workdir = _stage(ctx).workdir
    return ("**",) if workdir in ("", ".") else (workdir,)


def cache_specs(ctx: JobContext) -> list[ContainerSpec]:
    """The specs as the job-result key sees them: without the worker count and CPU
    limit, which follow from what else runs at once, not from the code under test."""
    out = []
    for s in specs(ctx):
        argv = list(s.commands[-1])
        if "-n" in argv:
            argv[argv.index("-n") + 1] = "N"
        out.append(replace(s, commands=(*s.commands[:-1], tuple(argv)), limits=Limits()))
    return out


def cache_facts(ctx: JobContext) -> dict[str, str]:
    """A shard runs the tests its split gives it: the split follows the durations."""
    if ctx.job.shard is None:
        return {}
    known = stored_durations.load_for(ctx.run, _stage(ctx).name)
    digest = hashlib.sha256(json.dumps(sorted(known.items())).encode()).hexdigest()
    return {"durations": digest}


async def _collect(ctx: JobContext, image: str) -> list[str]:
    """The group's node ids, collected once per run in a container, shared by its shards."""
    key = COLLECTED_KEY + _stage(ctx).name
    async with ctx.run.state.lock:
        lock = ctx.run.state.values.setdefault(key + ":lock", anyio.Lock())
    async with lock:
        cached = ctx.run.state.values.get(key)
        if isinstance(cached, list):
            return cached
        base = spec(ctx, image=image, select=_selection(ctx))
        args = [a for a in pytest_args(ctx, workers=1, select=_selection(ctx)) if a not in ("--cov-report=",)]
        collect = ContainerSpec(
            name=f"{_stage(ctx).name}-collect",
            image=base.image,
            commands=(
                (
                    "sh",
                    "-c",
                    'python -m pytest --collect-only -q "$@" > /slipway/collected.txt',
                    "sh",
                    *_collect_args(args),
                ),
            ),
            directories=base.directories,
            files=base.files[:1],
            env=tuple((k, v) for k, v in base.env if not k.startswith("SLIPWAY_DB_")),
            workdir=base.workdir,
            outputs=("/slipway/collected.txt",),
        )
        out_dir = ctx.run.report_dir / "artifacts" / f"{_stage(ctx).name}-collect"
        log = ctx.run.report_dir / "logs" / f"{_stage(ctx).name}-collect.log"
        result = await ctx.run.engine.run(collect, log_path=log, output_dir=out_dir)
        listing = result.outputs.get("/slipway/collected.txt")
        if not result.ok or listing is None:
            raise SlipwayError(f"collecting {_stage(ctx).name} for sharding failed; see {log}")
        tests = sharding.parse_collected(listing.read_text(encoding="utf-8"))
        ctx.run.state.values[key] = tests
        return tests


def _collect_args(args: list[str]) -> list[str]:
    """Selection options only: collection needs paths, -m, -p and -o, not -n or reports."""
    keep: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in ("-n", "--dist", "--junitxml", "--reruns"):
            skip_next = True
            continue
        if arg.startswith("--cov"):
            continue
        keep.append(arg)
    return keep


def reproduce_command(ctx: JobContext, node_id: str) -> str:
    return f"python -m pipeline reproduce {shlex.quote(node_id)} --job {shlex.quote(ctx.job.name)}"


def _quarantined(node_id: str, quarantine: tuple[str, ...]) -> bool:
    return any(
        node_id == q or node_id.startswith(q.rstrip(":") + "::") or node_id.startswith(q + "[")
        for q in quarantine
    )


async def run(ctx: JobContext) -> JobOutcome:
    stage = _stage(ctx)
    try:
        image = await ensure_test_image(ctx)
    except SlipwayError as exc:
        return JobOutcome(status=JobStatus.FAILED, detail=f"test base image: {exc}")
    data: dict[str, Any] = {}
    node_file: Path | None = None
    select = _selection(ctx)
    if ctx.job.shard is not None:
        tests = await _collect(ctx, image)
        known = stored_durations.load_for(ctx.run, stage.name)
        parts = sharding.split(tests, known, ctx.job.shard.total)
        mine = parts[ctx.job.shard.index - 1]
        estimates = sharding.shard_times(parts, sharding.estimates(tests, known))
        node_file = ctx.artifacts_dir.parent / f"{ctx.job.name}.tests.txt"
        node_file.parent.mkdir(parents=True, exist_ok=True)
        sharding.write_node_ids(node_file, mine)
        select = [f"@{NODE_IDS_FILE}"]
        data["shard_tests"] = len(mine)
        data["shard_estimates_s"] = [round(t, 2) for t in estimates]
        if not mine:
            return JobOutcome(
                status=JobStatus.SUCCESS, tests=TestTotals(), detail="no tests in this shard", data=data
            )
    the_spec = spec(ctx, image=image, select=select, node_ids=node_file)
    workers, limit = budget(ctx)
    data.update({"workers": workers, "cpu_limit": limit, "test_image": build_info(ctx)})
    result = await ctx.run.engine.run(the_spec, log_path=ctx.log_path, output_dir=ctx.artifacts_dir)
    return read_results(ctx, result.exit_code, data)


def read_results(ctx: JobContext, exit_code: int, data: dict[str, Any]) -> JobOutcome:
    """Turn the exported JUnit / coverage / exit code into the job's outcome."""
    stage = _stage(ctx)
    out = ctx.artifacts_dir / OUT_DIR.lstrip("/")
    junit_path = out / "junit.xml"
    artifacts = sorted(p for p in out.rglob("*") if p.is_file()) if out.is_dir() else []
    if not junit_path.is_file():
        detail = f"pytest exited {exit_code} and wrote no JUnit report; see {ctx.log_path.name}"
        return JobOutcome(status=JobStatus.FAILED, artifacts=tuple(artifacts), detail=detail, data=data)
    host_root = ctx.run.config.project_root / stage.workdir
    cases = junit.results(junit_path, root=host_root)
    totals = junit.totals(cases)
    durations = junit.durations(cases)
    durations_path = out / "durations.json"
    sharding.write_durations(durations_path, durations)
    if durations_path not in artifacts:
        artifacts.append(durations_path)
    failing = junit.failing(cases)
    quarantined = [t for t in failing if _quarantined(t, stage.quarantine)]
    real_failures = [t for t in failing if t not in quarantined]
    data["failures"] = [{"test": t, "reproduce": reproduce_command(ctx, t)} for t in real_failures]
    data["flaky_tests"] = junit.flaky(cases)
    data["quarantined"] = quarantined
    data["test_seconds"] = round(sum(durations.values()), 2)
    # A quarantined test runs and is reported, but cannot fail the build or the totals.
    counted = junit.totals(c for c in cases if c.node_id not in quarantined)
    tests = counted
    ok_exit = exit_code == 0 or (exit_code == TESTS_FAILED and not real_failures and quarantined)
    if exit_code == NO_TESTS_COLLECTED:
        detail = "no tests collected: check the stage's paths and markers"
        return JobOutcome(
            status=JobStatus.FAILED, artifacts=tuple(artifacts), tests=tests, detail=detail, data=data
        )
    if ok_exit and not real_failures:
        parts = [f"{totals.passed} passed", f"{workers_text(data)}"]
        if totals.flaky:
            parts.append(f"{totals.flaky} flaky")
        if quarantined:
            parts.append(f"{len(quarantined)} quarantined failing")
        return JobOutcome(
            status=JobStatus.SUCCESS,
            artifacts=tuple(artifacts),
            tests=tests,
            detail=", ".join(parts),
            data=data,
        )
    if real_failures:
        shown = ", ".join(real_failures[:3]) + (" ..." if len(real_failures) > 3 else "")
        detail = f"{len(real_failures)} failed: {shown}"
    else:
        detail = f"pytest exited {exit_code}; see {ctx.log_path.name}"
    return JobOutcome(
        status=JobStatus.FAILED, artifacts=tuple(artifacts), tests=tests, detail=detail, data=data
    )


def workers_text(data: dict[str, Any]) -> str:
    limit = data.get("cpu_limit")
    return f"{data.get('workers')} workers" + (f" on {limit} CPUs" if limit else "")
