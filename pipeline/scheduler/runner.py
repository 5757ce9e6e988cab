"""Run a plan's jobs with anyio: in parallel up to a limit, in order of their needs.

Knows nothing of what a job does: it calls ``runner(job)`` and records what
came back. A failed job marks its dependents skipped while independent jobs go
on; ``fail_fast`` cancels everything at the first failure; ^C / SIGTERM cancel
running jobs, wait for their cleanup (engines shield it) and end ``interrupted``.
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from pipeline.model.errors import EngineUnavailable, SlipwayError
from pipeline.model.outcome import JobOutcome, JobStatus, RunStatus
from pipeline.plan import Job, Plan

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class JobRecord:
    job: Job
    status: JobStatus = JobStatus.SKIPPED
    started: datetime | None = None
    finished: datetime | None = None
    duration_s: float = 0.0
    log: Path | None = None
    outcome: JobOutcome | None = None
    detail: str = ""


@dataclass(slots=True, kw_only=True)
class SchedulerResult:
    status: RunStatus
    records: list[JobRecord]
    started: datetime
    finished: datetime
    fatal: SlipwayError | None = None  # an engine that could not run at all


Runner = Callable[[Job], Awaitable[JobOutcome]]
Listener = Callable[[JobRecord], None]


def _now() -> datetime:
    return datetime.now(UTC)


async def run_plan(
    plan: Plan,
    runner: Runner,
    *,
    max_parallel: int,
    fail_fast: bool = False,
    log_path: Callable[[Job], Path] | None = None,
    on_change: Listener | None = None,
    handle_signals: bool = True,
) -> SchedulerResult:
    """Run every job of ``plan``; never raises for a job that failed."""
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    records = {job.name: JobRecord(job=job) for job in plan.jobs}
    done = {job.name: anyio.Event() for job in plan.jobs}
    limiter = anyio.CapacityLimiter(max_parallel)
    state: dict[str, Any] = {"interrupted": False, "cancelled": False, "fatal": None}
    started = _now()

    def notify(record: JobRecord) -> None:
        if on_change is not None:
            on_change(record)

    async def run_one(job: Job, scope: anyio.CancelScope) -> None:
        record = records[job.name]
        try:
            for need in job.needs:
                await done[need].wait()
            blocked = [n for n in job.needs if records[n].status not in _PASSING]
            if blocked:
                record.status = JobStatus.SKIPPED
                record.detail = f"needs {', '.join(blocked)}, which did not succeed"
                return
            async with limiter:
                record.started = _now()
                record.log = log_path(job) if log_path else None
                notify(record)
                t0 = time.monotonic()
                try:
                    outcome = await runner(job)
                except EngineUnavailable as exc:  # nothing can run: stop everything
                    outcome = JobOutcome(status=JobStatus.FAILED, detail=str(exc))
                    state["fatal"] = exc
                    scope.cancel()
                except SlipwayError as exc:  # this job could not run; the others go on
                    outcome = _expected_error(exc, record.log)
                except anyio.get_cancelled_exc_class():
                    record.detail = "interrupted" if state["interrupted"] else "cancelled"
                    record.status = JobStatus.SKIPPED
                    raise
                except Exception as exc:  # a bug in a stage must not lose the other jobs
                    outcome = _internal_error(job, exc, record.log)
                finally:
                    record.finished = _now()
                    record.duration_s = round(time.monotonic() - t0, 3)
                record.outcome = outcome
                record.status = outcome.status
                record.detail = outcome.detail
                if outcome.status is JobStatus.FAILED and fail_fast:
                    state["cancelled"] = True
                    scope.cancel()
        finally:
            if record.status is JobStatus.SKIPPED and not record.detail:
                record.detail = "interrupted" if state["interrupted"] else "cancelled"
            done[job.name].set()
            notify(record)

    async def watch_signals(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                state["interrupted"] = True
                scope.cancel()
                return

    async with anyio.create_task_group() as outer:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                for job in plan.jobs:
                    tg.start_soon(run_one, job, scope)
                if handle_signals:
                    outer.start_soon(watch_signals, scope)
        outer.cancel_scope.cancel()  # stop the signal watcher

    if state["interrupted"]:
        status = RunStatus.INTERRUPTED
    elif state["fatal"] is not None or any(
        r.status is JobStatus.FAILED for r in records.values()
    ) or state["cancelled"]:
        status = RunStatus.FAILED
    else:
        status = RunStatus.SUCCESS
    return SchedulerResult(
        status=status,
        records=[records[j.name] for j in plan.jobs],
        started=started,
        finished=_now(),
        fatal=state["fatal"],
    )


_PASSING = (JobStatus.SUCCESS, JobStatus.CACHED)


def _append(log_file: Path | None, text: str) -> None:
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as fh:
            fh.write(text)


def _expected_error(exc: SlipwayError, log_file: Path | None) -> JobOutcome:
    """A job that could not run (an unknown image, a refused container...): its message
    is the job's detail and the last line of its log."""
    _append(log_file, f"[slipway] error: {exc}\n")
    return JobOutcome(status=JobStatus.FAILED, detail=str(exc))


def _internal_error(job: Job, exc: Exception, log_file: Path | None) -> JobOutcome:
    text = "".join(traceback.format_exception(exc))
    where = "the traceback is in the console log"
    if log_file is not None:
        _append(log_file, f"\n--- Slipway internal error in job {job.name} ---\n{text}")
        where = f"the traceback is at the end of {log_file}"
    else:
        log.error("internal error in job %s:\n%s", job.name, text)
    return JobOutcome(
        status=JobStatus.FAILED,
        detail=f"internal error ({type(exc).__name__}: {exc}); {where}; please report it",
    )
