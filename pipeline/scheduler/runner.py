"""Run a plan's jobs with anyio: in parallel up to a limit, in order of their needs.

Knows nothing of what a job does: it calls ``runner(job)`` and records what
came back. A failed job marks its dependents skipped while independent jobs go
on; ``fail_fast`` cancels everything at the first failure; ^C / SIGTERM cancel
running jobs, wait for their cleanup (engines shield it) and end ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from pipeline.model.disk import is_no_space
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
    interrupted: bool = False,
) -> SchedulerResult:
    """Run every job of ``plan``; never raises for a job that failed. ``interrupted``:
    a signal came before the jobs could start; every job ends skipped, the run interrupted."""
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    run = _Run(plan, runner, max_parallel, fail_fast=fail_fast, log_path=log_path, on_change=on_change)
    if interrupted:
        run.interrupted = True
        run.scope.cancel()
    return await run.all(handle_signals=handle_signals)


class _Run:
    """One ``run_plan``: the records, the needs' events, and how the run ended."""

    def __init__(
        self,
        plan: Plan,
        runner: Runner,
        max_parallel: int,
        *,
        fail_fast: bool,
        log_path: Callable[[Job], Path] | None,
        on_change: Listener | None,
    ) -> None:
        self.plan, self.runner, self.fail_fast = plan, runner, fail_fast
        self.log_path, self.on_change = log_path, on_change
        self.records = {job.name: JobRecord(job=job) for job in plan.jobs}
        self.done = {job.name: anyio.Event() for job in plan.jobs}
        self.limiter = anyio.CapacityLimiter(max_parallel)
        self.scope = anyio.CancelScope()
        self.interrupted = False
        self.cancelled = False
        self.fatal: SlipwayError | None = None
        self.interrupted_at: datetime | None = None

    async def all(self, *, handle_signals: bool) -> SchedulerResult:
        started = _now()
        async with anyio.create_task_group() as outer:
            with self.scope:
                async with anyio.create_task_group() as tg:
                    for job in self.plan.jobs:
                        tg.start_soon(self.one, job)
                    if handle_signals:
                        outer.start_soon(self.watch_signals)
                if handle_signals:
                    # A signal that came with the last job's end is in the event loop's
                    # queue: let the watcher take it before it is stopped, or it is lost.
                    await anyio.sleep(SIGNAL_SETTLE_S)
            outer.cancel_scope.cancel()  # stop the signal watcher
        self.failed_by_the_interrupt()
        return SchedulerResult(
            status=self.status(),
            records=[self.records[j.name] for j in self.plan.jobs],
            started=started,
            finished=_now(),
            fatal=self.fatal,
        )

    def failed_by_the_interrupt(self) -> None:
        """Under ``dagger run`` the ^C reaches the dagger CLI too, which ends the session:
        a running job's command then fails, sometimes a moment before this process sees
        the signal. Such a job was stopped by the interrupt, like a cancelled one."""
        if self.interrupted_at is None:
            return
        since = self.interrupted_at - INTERRUPT_RACE
        for record in self.records.values():
            if record.status is JobStatus.FAILED and record.finished is not None and record.finished >= since:
                record.status = JobStatus.SKIPPED
                record.detail = "interrupted (its command ended with the run; see its log)"

    def status(self) -> RunStatus:
        if self.interrupted:
            return RunStatus.INTERRUPTED
        failed = any(r.status is JobStatus.FAILED for r in self.records.values())
        if self.fatal is not None or failed or self.cancelled:
            return RunStatus.FAILED
        return RunStatus.SUCCESS

    def notify(self, record: JobRecord) -> None:
        if self.on_change is not None:
            self.on_change(record)

    def stopped(self) -> str:
        return "interrupted" if self.interrupted else "cancelled"

    async def one(self, job: Job) -> None:
        record = self.records[job.name]
        try:
            for need in job.needs:
                await self.done[need].wait()
            blocked = [n for n in job.needs if self.records[n].status not in _PASSING]
            if blocked:
                record.status = JobStatus.SKIPPED
                record.detail = f"needs {', '.join(blocked)}, which did not succeed"
                return
            async with self.limiter:
                outcome = await self.call(job, record)
            record.outcome = outcome
            record.status = outcome.status
            record.detail = outcome.detail
            if outcome.status is JobStatus.FAILED and self.fail_fast:
                self.cancelled = True
                self.scope.cancel()
        finally:
            if record.status is JobStatus.SKIPPED and not record.detail:
                record.detail = self.stopped()
            self.done[job.name].set()
            self.notify(record)

    async def call(self, job: Job, record: JobRecord) -> JobOutcome:
        """The runner's outcome for ``job``; what it raised becomes a failed outcome."""
        record.started = _now()
        record.log = self.log_path(job) if self.log_path else None
        self.notify(record)
        t0 = time.monotonic()
        try:
            return await self.runner(job)
        except EngineUnavailable as exc:  # nothing can run: stop everything
            self.fatal = exc
            self.scope.cancel()
            return JobOutcome(status=JobStatus.FAILED, detail=str(exc))
        except SlipwayError as exc:  # this job could not run; the others go on
            return _expected_error(exc, record.log)
        except anyio.get_cancelled_exc_class():
            record.detail = self.stopped()
            record.status = JobStatus.SKIPPED
            raise
        except Exception as exc:  # a bug in a stage must not lose the other jobs
            if is_no_space(exc):  # a full disk is the machine's, not a bug: say where
                where = getattr(exc, "filename", None) or "a file the job writes"
                return _expected_error(SlipwayError(f"{where}: no space left on device"), record.log)
            return _internal_error(job, exc, record.log)
        finally:
            record.finished = _now()
            record.duration_s = round(time.monotonic() - t0, 3)

    async def watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self.interrupted = True
                self.interrupted_at = _now()
                self.scope.cancel()
                return


_PASSING = (JobStatus.SUCCESS, JobStatus.CACHED)
# How much earlier than the signal a job may fail and still be the interrupt's doing.
INTERRUPT_RACE = timedelta(seconds=1)
SIGNAL_SETTLE_S = 0.05


def _append(log_file: Path | None, text: str) -> None:
    """The job's last words in its log; a log that cannot take them (its disk is full)
    loses them, the job's detail still says them."""
    if log_file is not None:
        with contextlib.suppress(OSError):
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
