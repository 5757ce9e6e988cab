"""Watching jobs while they run: the scheduler's record changes and each running job's
log become events (``run/events.py``).

A job's log is written line by line and flushed by the engine, and the lines a job's
process marks as events (the pytest progress plugin's ``##slipway:progress {...}``)
go to a file beside it (``model/joblog.py``). Both files of every running job are
read every ``POLL_S``: new whole lines become ``JobOutput`` or ``TestProgress``. When
a job ends, the rest of its files is read before its ``JobFinished``, so a watcher
sees all of a job's output before its end. Following files, not the engine, keeps
this the same for every engine (Dagger writes a job's output when the job ends).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from pipeline.model.joblog import EVENT_PREFIX, events_path
from pipeline.model.outcome import JobStatus
from pipeline.plan import Plan
from pipeline.run.events import (
    JobFinished,
    JobOutput,
    JobStarted,
    OnEvent,
    PlannedJob,
    RunStarted,
    TestProgress,
)
from pipeline.scheduler import JobRecord

POLL_S = 0.2
_PROGRESS = EVENT_PREFIX + "progress "


class Tail:
    """The whole lines appended to a file since the last read. A file that shrank was
    rewritten (a cached job's restored log): it is read again from its start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def lines(self, *, final: bool = False) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                if size < self._offset:
                    self._offset, self._partial = 0, b""
                handle.seek(self._offset)
                data = handle.read()
        except OSError:  # not written yet (an events file appears with the first event)
            return []
        self._offset += len(data)
        *whole, self._partial = (self._partial + data).split(b"\n")
        if final and self._partial:
            whole.append(self._partial)
            self._partial = b""
        return [raw.decode("utf-8", errors="replace").rstrip("\r") for raw in whole]


def progress_of(job: str, line: str) -> TestProgress | None:
    """A progress event line as the plugin writes it; None for anything else."""
    if not line.startswith(_PROGRESS):
        return None
    try:
        data = json.loads(line[len(_PROGRESS) :])
        total = data.get("total")
        return TestProgress(
            job=job,
            done=int(data["done"]),
            total=int(total) if total is not None else None,
            failed=int(data.get("failed") or 0),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # a test printed something that looks like ours: not an event


class JobWatch:
    """Turns the scheduler's records and the running jobs' files into events."""

    def __init__(self, on_event: OnEvent) -> None:
        self._on_event = on_event
        self._tails: dict[str, tuple[Tail, Tail]] = {}

    def run_started(self, plan: Plan, run_id: str) -> None:
        path, _ = plan.critical_path()
        jobs = tuple(
            PlannedJob(
                name=j.name,
                stage=j.stage,
                kind=j.kind,
                shard=str(j.shard) if j.shard else None,
                needs=tuple(j.needs),
            )
            for j in plan.jobs
        )
        self._on_event(RunStarted(run_id=run_id, jobs=jobs, critical_path=tuple(path)))

    def job_changed(self, record: JobRecord) -> None:
        """The scheduler's ``on_change``: a job started, or ended (or was skipped)."""
        name = record.job.name
        if record.finished is None and record.started is not None:
            if record.log is not None:
                self._tails[name] = (Tail(record.log), Tail(events_path(record.log)))
            self._on_event(JobStarted(job=name))
            return
        if record.finished is None and record.status is not JobStatus.SKIPPED:
            return
        tails = self._tails.pop(name, None)
        if tails is not None:
            self._read(name, tails, final=True)
        self._on_event(
            JobFinished(
                job=name,
                status=str(record.status),
                duration_s=record.duration_s,
                detail=record.detail,
                log=record.log,
                started=record.started is not None,
            )
        )

    def poll(self) -> None:
        """Read what the running jobs wrote since the last poll."""
        for name, tails in list(self._tails.items()):
            self._read(name, tails, final=False)

    def _read(self, name: str, tails: tuple[Tail, Tail], *, final: bool) -> None:
        log, events = tails
        # An engine that keeps no events file (Dagger) leaves the event lines in the log.
        for line in [*events.lines(final=final), *log.lines(final=final)]:
            if not line.startswith(EVENT_PREFIX):
                self._on_event(JobOutput(job=name, line=line))
            elif (progress := progress_of(name, line)) is not None:
                self._on_event(progress)

    @asynccontextmanager
    async def following(self) -> AsyncIterator[JobWatch]:
        """Poll the running jobs' files in the background while the block runs."""

        async def poll_forever() -> None:
            while True:
                await anyio.sleep(POLL_S)
                self.poll()

        async with anyio.create_task_group() as tg:
            tg.start_soon(poll_forever)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()
