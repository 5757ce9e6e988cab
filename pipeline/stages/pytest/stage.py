"""The ``pytest`` stage kind: one test group (or one shard of it) in its own container.

The container (``container``) runs from the pre-baked test base image (``image``)
with the project copied in, the group's services on its own network, Slipway's
pytest plugin copied in (per-worker PostgreSQL databases, no change to the
project's conftest), and pytest-xdist with a worker count taken from the run's
CPU budget (``budget``). A shard runs its part of the group's collected ids
(``collect``, ``shards``) split by recorded durations (``durations``). JUnit XML,
coverage data and durations come back as artifacts, also when tests fail
(``results``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from pipeline.model.errors import SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.outcome import JobOutcome, JobStatus, TestTotals
from pipeline.model.spec import ContainerSpec, ImageBuild, Limits
from pipeline.stages.base import JobContext, no_builds, oom_detail
from pipeline.stages.pytest import durations as stored_durations
from pipeline.stages.pytest import impact
from pipeline.stages.pytest import shards as sharding
from pipeline.stages.pytest.collect import collected
from pipeline.stages.pytest.container import NODE_IDS_FILE, OUT_DIR, selection, spec, stage_of, workers
from pipeline.stages.pytest.image import build_info, ensure_test_image, test_image
from pipeline.stages.pytest.results import read_results
from pipeline.stages.pytest.timings import PHASES_FILE, job_phases, read_marks


def specs(ctx: JobContext) -> list[ContainerSpec]:
    image = test_image(ctx.run.config).tag
    if ctx.job.shard is None:
        return [spec(ctx, image=image, select=selection(ctx))]
    # The shard's tests are known only after the group is collected (once per run).
    return [spec(ctx, image=image, select=[f"@{NODE_IDS_FILE}"], node_ids=Path("tests.txt"))]


def cache_inputs(ctx: JobContext) -> tuple[str, ...] | None:
    # The tree pytest runs in decides the result (sources, tests, conftest, config);
    # the test image tag in the spec already covers the dependency files. A frontend
    # beside it does not.
    workdir = stage_of(ctx).workdir
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
    known = stored_durations.load_for(ctx.run, stage_of(ctx).name)
    digest = hashlib.sha256(json.dumps(sorted(known.items())).encode()).hexdigest()
    return {"durations": digest}


def builds(ctx: JobContext) -> list[ImageBuild]:
    return no_builds(ctx)


async def running_jobs(ctx: JobContext) -> frozenset[str]:
    """The run's pytest jobs that really run (this one, and those the job cache does not
    answer): only they share the cores."""
    probe = ctx.run.state.cache_probe
    names = {ctx.job.name}
    for job in ctx.run.jobs:
        if job.kind == "pytest" and job.name != ctx.job.name and not await probe.answers(job):
            names.add(job.name)
    return frozenset(names)


async def run(ctx: JobContext) -> JobOutcome:
    """The job, with its shared services (the run's PostgreSQL) started at once, while
    the test image is found or built and the group collected: ready when the job is."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(_services_early, ctx)
        outcome = await _run(ctx)
    return outcome


async def _services_early(ctx: JobContext) -> None:
    early = spec(ctx, image=test_image(ctx.run.config).tag, select=[])  # for its services only
    if any(s.shared for s in early.services):
        with contextlib.suppress(SlipwayError):  # the job's own start says what went wrong
            await ctx.run.engine.prepare_services(early, log_path=ctx.log_path)


async def _run(ctx: JobContext) -> JobOutcome:
    stage = stage_of(ctx)
    try:
        image = await ensure_test_image(ctx)
    except SlipwayError as exc:
        return JobOutcome(status=JobStatus.FAILED, detail=f"test base image: {exc}")
    data: dict[str, Any] = {}
    node_file: Path | None = None
    select = selection(ctx)
    shard_tests: int | None = None
    if ctx.job.shard is not None:
        tests = list(await collected(ctx, image))
        known = stored_durations.load_for(ctx.run, stage.name)
        parts = sharding.split(tests, known, ctx.job.shard.total)
        mine = parts[ctx.job.shard.index - 1]
        estimates = sharding.shard_times(parts, sharding.estimates(tests, known))
        node_file = ctx.artifacts_dir.parent / f"{ctx.job.name}.tests.txt"
        node_file.parent.mkdir(parents=True, exist_ok=True)
        sharding.write_node_ids(node_file, mine)
        select = [f"@{NODE_IDS_FILE}"]
        shard_tests = len(mine)
        data["shard_tests"] = len(mine)
        data["shard_estimates_s"] = [round(t, 2) for t in estimates]
        if not mine:
            return JobOutcome(
                status=JobStatus.SUCCESS, tests=TestTotals(), detail="no tests in this shard", data=data
            )
    running = await running_jobs(ctx)
    baseline = impact.load_baseline(ctx)
    the_spec = spec(
        ctx,
        image=image,
        select=select,
        node_ids=node_file,
        running=running,
        baseline=baseline,
        tests=shard_tests,
    )
    chosen = workers(ctx, running, tests=shard_tests, baseline=baseline)
    data.update({"workers": chosen.count, "cpu_weight": chosen.weight, "test_image": build_info(ctx)})
    if chosen.choice:
        data["workers_choice"] = chosen.choice
        with JobLog(ctx.log_path, ctx.run.redactor) as log:
            log.line(f"slipway: {chosen.choice}")
    result = await ctx.run.engine.run(the_spec, log_path=ctx.log_path, output_dir=ctx.artifacts_dir)
    inside = read_marks(ctx.artifacts_dir / OUT_DIR.lstrip("/") / PHASES_FILE)
    data["phases"] = job_phases(result.phases, result.marks, inside)
    selection_report = impact.finish(ctx, baseline)
    if selection_report is not None:
        data["impact"] = selection_report
        if chosen.auto and isinstance(selection_report.get("workers"), int):  # what the plugin chose
            data["workers"] = selection_report["workers"]
            data["workers_choice"] = str(selection_report.get("workers_choice") or chosen.choice)
    outcome = read_results(ctx, result.exit_code, data)
    killed = oom_detail(result, the_spec, ctx.stage)
    # pytest itself cannot say it was killed: what it left (no JUnit, or a part) follows.
    return replace(outcome, detail=f"{killed}; {outcome.detail}") if killed else outcome
