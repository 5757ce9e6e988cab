"""``python -m pipeline reproduce TEST_ID | JOB [--shell]``: a CI failure, on a laptop.

The same image, services, environment and plugin as the CI job: a test id runs
that one test (serially, in its group's container); a job name runs that job
(a shard included: the split is recomputed from the same durations); ``--shell``
opens an interactive shell in that container with its services up, and removes
everything when the shell ends.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

import anyio

from pipeline.config import Config
from pipeline.config.model import PytestStage
from pipeline.engines.base import RunContext
from pipeline.model.errors import UsageError
from pipeline.model.secrets import Redactor
from pipeline.model.spec import ContainerSpec
from pipeline.plan import Job, Plan
from pipeline.reports.run_report import read_report
from pipeline.run import EngineFactory, new_run_id
from pipeline.stages import KINDS
from pipeline.stages.base import JobContext, PipelineRun, RunOptions
from pipeline.stages.pytest import container as pytest_stage
from pipeline.stages.pytest.image import ensure_test_image

SHELL = ("sh", "-c", "command -v bash >/dev/null && exec bash || exec sh")


def find_job(config: Config, plan: Plan, target: str, job: str | None, report_dir: Path | None) -> Job:
    """The job a target belongs to: named, from the last report's failures, or by path."""
    if job is not None:
        return plan.job(job)
    if any(j.name == target for j in plan.jobs):
        return plan.job(target)
    if report_dir is not None and (report_dir / "report.json").is_file():
        for failure in read_report(report_dir).get("failures", []):
            if failure.get("test") == target:
                return plan.job(str(failure["job"]))
    path = target.split("::", 1)[0]
    seen: set[str] = set()
    for j in plan.jobs:
        # A test belongs to its stage; any shard's container reproduces it.
        if j.kind != "pytest" or j.stage in seen:
            continue
        seen.add(j.stage)
        stage = config.stage(j.stage)
        assert isinstance(stage, PytestStage)
        if not stage.paths or any(PurePosixPath(path).is_relative_to(p.rstrip("/")) for p in stage.paths):
            return j
    raise UsageError(
        f"{target!r} is neither a job nor a test under a pytest stage's paths; "
        "pass --job JOB (see `python -m pipeline plan`)"
    )


def _run_for(
    config: Config, factory: EngineFactory, report_dir: Path, job: Job
) -> PipelineRun:
    run_id = new_run_id()
    redactor = Redactor()
    return PipelineRun(
        config=config,
        engine=factory(RunContext(run_id=run_id, redactor=redactor)),
        run_id=run_id,
        report_dir=report_dir,
        redactor=redactor,
        options=RunOptions(max_parallel=1),
        jobs=(job,),
    )


async def _test_spec(ctx: JobContext, test_id: str) -> ContainerSpec:
    image = await ensure_test_image(ctx)
    base = pytest_stage.spec(ctx, image=image, select=[test_id])
    # One test, serially (-n 0): the plugin gives the session its own database.
    argv = ["python", "-m", "pytest", *pytest_stage.pytest_args(ctx, workers=0, select=[test_id]), "-v"]
    return replace(base, commands=(base.commands[0], tuple(argv)))


async def _follow(path: Path, emit: Callable[[str], None], done: anyio.Event) -> None:
    """Print the job's log as the engine writes it (the engine streams to the file)."""
    offset = 0
    while True:
        finished = done.is_set()
        if path.exists():
            with path.open(encoding="utf-8", errors="replace") as fh:
                fh.seek(offset)
                chunk = fh.read()
                offset = fh.tell()
            if chunk:
                emit(chunk.rstrip("\n"))
        if finished:
            return
        await anyio.sleep(0.2)


async def reproduce(
    config: Config,
    plan: Plan,
    target: str,
    *,
    job_name: str | None,
    shell: bool,
    factory: EngineFactory,
    last_report: Path | None,
    emit: Callable[[str], None],
) -> int:
    """Run the target as CI did; returns its exit code (the shell's with ``--shell``)."""
    job = find_job(config, plan, target, job_name, last_report)
    report_dir = Path(tempfile.mkdtemp(prefix="slipway-reproduce-"))
    run = _run_for(config, factory, report_dir, job)
    ctx = run.for_job(job)
    ctx.log_path.parent.mkdir(parents=True, exist_ok=True)
    kind = KINDS[job.kind]
    is_test = target != job.name
    emit(f"reproducing {target} in job {job.name} on the {run.engine.name} engine (logs: {report_dir})")
    try:
        if shell:
            return await _shell(
                ctx, kind.specs(ctx)[0] if not is_test else await _test_spec(ctx, target), emit
            )
        done = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_follow, ctx.log_path, emit, done)
            try:
                if is_test:
                    spec = await _test_spec(ctx, target)
                    result = await run.engine.run(spec, log_path=ctx.log_path, output_dir=ctx.artifacts_dir)
                    code = result.exit_code
                else:
                    outcome = await kind.run(ctx)
                    emit(f"{job.name}: {outcome.status} {outcome.detail}")
                    code = 0 if outcome.status in ("success", "cached") else 1
            finally:
                done.set()
        return code
    finally:
        with anyio.CancelScope(shield=True):
            await run.engine.aclose()


async def _shell(ctx: JobContext, spec: ContainerSpec, emit: Callable[[str], None]) -> int:
    """The job's container and services up, and an interactive shell in it (the engine's)."""
    emit(f"CI ran: {shlex.join(spec.commands[-1])}")
    return await ctx.run.engine.shell(
        spec, command=SHELL, log_path=ctx.log_path, output_dir=ctx.artifacts_dir, announce=emit
    )
