"""One pipeline run, start to end: the composition root.

The only place that knows every concrete part: it builds the engine (from the
factory ``--engine`` chose), the run's stores, its typed state and its cache
volume sync, wraps every stage kind in the job cache, runs the plan through the
scheduler, then the finalizers, and writes the report. Whatever happens (a
failed job, ^C, an engine that dies), the report, the summary and every job's
log are written and the engine's objects removed.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from pipeline.config import Config
from pipeline.engines.base import Engine, RunContext
from pipeline.model import signals
from pipeline.model.disk import free_bytes, is_no_space, reason
from pipeline.model.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, NoSpace, SlipwayError
from pipeline.model.outcome import JobOutcome, RunStatus
from pipeline.model.secrets import Redactor, resolve
from pipeline.model.sizes import format_size
from pipeline.plan import Job, Plan
from pipeline.reports.run_report import build_report, write_report
from pipeline.reports.summary import render_summary
from pipeline.reports.views import Views
from pipeline.run.engine import EngineFactory
from pipeline.run.events import Note, OnEvent
from pipeline.run.finalizers import FINALIZERS, Finalizer, finalize
from pipeline.run.jobcache import StoreProbe, run_cached
from pipeline.run.lastrun import last_durations, save_durations
from pipeline.run.publish import publish
from pipeline.run.stores import describe_store, open_run_store
from pipeline.run.volumesync import VolumeSync, open_volume_sync, save_volumes
from pipeline.run.watch import JobWatch
from pipeline.scheduler import SchedulerResult, run_plan
from pipeline.stages import KINDS
from pipeline.stages.base import PipelineRun, RunOptions, safe_name
from pipeline.stages.state import RunState


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + pysecrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    exit_code: int
    report: dict[str, Any]
    report_dir: Path
    views: Views | None = None  # report.html and the timeline, unless they failed


async def _interruptible(
    work: Callable[[], Awaitable[VolumeSync | None]], handle_signals: bool
) -> tuple[VolumeSync | None, bool]:
    """(``work``'s result, False), or (None, True) if SIGINT or SIGTERM came first."""
    if not handle_signals:
        return await work(), False
    done: list[VolumeSync | None] = []
    seen: list[bool] = []
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                done.append(await work())
                tg.cancel_scope.cancel()

            async def watch() -> None:
                async for _ in signals:
                    seen.append(True)  # even if the work has just finished: not lost
                    tg.cancel_scope.cancel()
                    return

            tg.start_soon(run)
            tg.start_soon(watch)
    return (done[0] if done else None), bool(seen) or not done


async def _close(engine: Engine) -> SlipwayError | None:
    """Close the engine; its error, if it failed (a daemon that stopped mid-run cannot be
    asked to remove anything), is raised after the report is written, not before."""
    try:
        await engine.aclose()
    except SlipwayError as exc:
        return exc
    return None


async def execute(
    config: Config,
    plan: Plan,
    *,
    engine_factory: EngineFactory,
    report_dir: Path,
    options: RunOptions,
    fail_fast: bool = False,
    on_event: OnEvent = lambda _event: None,
    finalizers: tuple[Finalizer, ...] = FINALIZERS,
    handle_signals: bool = True,
) -> RunOutcome:
    """Run ``plan`` and write the report; returns the exit code (0, 1 or 130).

    ``on_event`` hears the run as it happens (``run/events.py``): jobs starting and
    ending, their output, tests done so far, notes, and CI lines to print verbatim.
    """
    run_id = new_run_id()

    def emit(text: str) -> None:
        on_event(Note(text))

    _report_dir_ready(report_dir)
    declared = set(config.model.secrets)
    # Mask every declared secret that has a value, even ones no stage asks for.
    redactor = Redactor(resolve([n for n in declared if n in os.environ]).values())
    engine = engine_factory(
        RunContext(run_id=run_id, redactor=redactor, log_dir=report_dir / "logs", announce=emit)
    )
    pipeline_run = PipelineRun(
        config=config,
        engine=engine,
        run_id=run_id,
        report_dir=report_dir,
        redactor=redactor,
        options=options,
        jobs=plan.jobs,
        store=open_run_store(config),
        last_durations=last_durations(config),
        state=RunState(),
    )
    # Asked by the pytest kind's CPU budget: which of the run's jobs the job cache answers.
    pipeline_run.state.cache_probe = StoreProbe(pipeline_run, KINDS)
    watch = JobWatch(on_event)
    watch.run_started(plan, run_id)
    emit(describe_store(pipeline_run.store, no_cache=options.no_cache))

    def write_report_now() -> tuple[dict[str, Any], Views | None]:
        with _full_disk_said(report_dir, result):
            return _report(
                config, plan, pipeline_run, result,
                finalizers=finalizers, engine_name=engine.name, on_event=on_event,
            )

    written: tuple[dict[str, Any], Views | None] | None = None
    try:
        # Restoring cache volumes takes seconds: a ^C then must end the run as one during
        # the jobs does (exit 130, a report), not be lost before the scheduler listens.
        volumes, interrupted = await _interruptible(
            lambda: open_volume_sync(pipeline_run, plan.jobs, emit), handle_signals
        )
        signals.again()

        async def runner(job: Job) -> JobOutcome:
            ctx = pipeline_run.for_job(job)
            ctx.log_path.parent.mkdir(parents=True, exist_ok=True)
            ctx.log_path.touch()
            kind = KINDS.get(job.kind)
            if kind is None:
                raise SlipwayError(f"stage kind {job.kind!r} is not available in this Slipway")
            return await run_cached(ctx, kind, volumes)

        async with watch.following():
            result = await run_plan(
                plan,
                runner,
                max_parallel=options.max_parallel,
                fail_fast=fail_fast,
                log_path=lambda job: report_dir / "logs" / f"{safe_name(job.name)}.log",
                on_change=watch.job_changed,
                handle_signals=handle_signals,
                interrupted=interrupted or signals.received(),
            )
        signals.again()
        if result.status is RunStatus.SUCCESS:
            await save_volumes(volumes)
        elif result.status is RunStatus.INTERRUPTED:
            # `dagger run` SIGKILLs us 10 s after its SIGTERM, and closing an engine whose
            # session went with the ^C can take seconds of that (a loaded CI runner once
            # ran out of them, and the report was lost): interrupted, the report goes first.
            written = write_report_now()
    finally:
        with anyio.CancelScope(shield=True):
            close_error = await _close(engine)

    report, views = written or write_report_now()
    if result.status is RunStatus.INTERRUPTED:
        # An interrupted run exits 130 even if its engine went away with it (`dagger run`
        # ends its session when it is interrupted): what closing said is only a warning.
        if close_error is not None:
            emit(f"[warning] closing the {engine.name} engine: {close_error}")
    elif result.fatal is not None:
        raise result.fatal  # e.g. the engine vanished: exit 2 with its message, report kept
    elif close_error is not None:
        raise close_error  # a daemon that stopped mid-run: exit 2 after the report is written
    code = {
        RunStatus.SUCCESS: EXIT_OK,
        RunStatus.FAILED: EXIT_FAILED,
        RunStatus.INTERRUPTED: EXIT_INTERRUPTED,
    }[result.status]
    return RunOutcome(exit_code=code, report=report, report_dir=report_dir, views=views)


# Less than this free under --report-dir and the run does not start: its logs and
# report (a few hundred KiB for most runs) would not fit, and a run nobody can read
# is a run wasted.
MIN_REPORT_FREE = 1024**2


def _report_dir_ready(report_dir: Path) -> None:
    """The report directory made, with room for the run's logs and report."""
    try:
        (report_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if not is_no_space(exc):
            raise
        free: int | None = 0
    else:
        free = free_bytes(report_dir)
    if free is not None and free < MIN_REPORT_FREE:
        raise NoSpace(
            f"the report directory {report_dir} is full: no space left on device ({format_size(free)} "
            f"free there, the run needs at least {format_size(MIN_REPORT_FREE)}); nothing was run: "
            "free some space there or pass another --report-dir"
        )


@contextmanager
def _full_disk_said(report_dir: Path, result: SchedulerResult) -> Iterator[None]:
    """A full disk while the report is written is said in one line (``NoSpace``)."""
    try:
        yield
    except OSError as exc:
        if not is_no_space(exc):
            raise
        raise NoSpace(
            f"the report could not be written to {report_dir}: {reason(exc, report_dir)}; the jobs "
            f"ran ({result.status.value}) and what they made is removed, but there is no report: "
            "free some space there or pass another --report-dir"
        ) from None


def _report(
    config: Config,
    plan: Plan,
    pipeline_run: PipelineRun,
    result: SchedulerResult,
    *,
    finalizers: tuple[Finalizer, ...],
    engine_name: str,
    on_event: OnEvent,
) -> tuple[dict[str, Any], Views | None]:
    """The run's report and its views, written: after the jobs, whatever their outcome."""
    extra = finalize(finalizers, pipeline_run, result)
    extra["project_root"] = str(config.project_root)  # where coverage paths point (merge-reports)
    if extra.get("failed_checks") and result.status is RunStatus.SUCCESS:
        result.status = RunStatus.FAILED
        for check in extra["failed_checks"]:
            on_event(Note(f"[failed] {check}"))
    _late_signal(result, on_event)
    path, _ = plan.critical_path()
    measured = Plan(jobs=plan.jobs, durations={r.job.name: r.duration_s for r in result.records})
    critical, _ = measured.critical_path()
    coverage = extra.pop("coverage_percent", None)
    report = build_report(
        result,
        run_id=pipeline_run.run_id,
        git_sha=config.variables.get("GIT_SHA", ""),
        engine=engine_name,
        report_dir=pipeline_run.report_dir,
        critical_path=critical or path,
        coverage_percent=coverage,
        extra=extra,
    )
    write_report(report, pipeline_run.report_dir)
    (pipeline_run.report_dir / "summary.md").write_text(render_summary(report), encoding="utf-8")
    views = publish(report, pipeline_run.report_dir, config=config, on_event=on_event)
    if _late_signal(result, on_event):  # it came while the report was being written
        report["status"] = result.status.value
        write_report(report, pipeline_run.report_dir)
        (pipeline_run.report_dir / "summary.md").write_text(render_summary(report), encoding="utf-8")
    save_durations(config, result)
    return report, views


def _late_signal(result: SchedulerResult, on_event: OnEvent) -> bool:
    """A SIGINT/SIGTERM after the scheduler stopped listening (while volumes were saved,
    the engine closed, the report written: seconds on a busy runner) is only remembered
    by the held handlers; the run still ends as interrupted (exit 130), never green as
    if the ^C had not been pressed. True if this changed the run's status."""
    if not signals.received() or result.status is RunStatus.INTERRUPTED:
        return False
    result.status = RunStatus.INTERRUPTED
    on_event(Note("[interrupted] a signal came while the run was finishing; its jobs had ended"))
    return True
