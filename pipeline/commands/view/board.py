"""The state of every job as the run's events tell it, for the views to draw: pure
bookkeeping (no output), with its own clock so that elapsed times can be tested."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.run.events import JobFinished, JobOutput, JobStarted, RunEvent, RunStarted, TestProgress

WAITING = "waiting"
RUNNING = "running"


@dataclass(slots=True)
class JobState:
    name: str
    kind: str
    critical: bool = False
    status: str = WAITING  # then running, then report.json's success / failed / cached / skipped
    started_at: float | None = None
    duration_s: float | None = None
    detail: str = ""
    done: int = 0
    total: int | None = None
    failed: int = 0
    has_tests: bool = False  # a progress event arrived: the job reports tests
    last_line: str = ""

    @property
    def finished(self) -> bool:
        return self.status not in (WAITING, RUNNING)


class Board:
    """Every job of the run, in plan order, updated by ``apply(event)``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.jobs: dict[str, JobState] = {}
        self.critical_path: tuple[str, ...] = ()
        self.run_id = ""

    def apply(self, event: RunEvent) -> JobState | None:
        """Update from ``event``; the job it was about, if any."""
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
            self.critical_path = event.critical_path
            critical = set(event.critical_path)
            for job in event.jobs:
                self.jobs[job.name] = JobState(name=job.name, kind=job.kind, critical=job.name in critical)
            return None
        if isinstance(event, JobStarted | JobOutput | TestProgress | JobFinished):
            state = self.jobs.setdefault(event.job, JobState(name=event.job, kind=""))
            self._update(state, event)
            return state
        return None

    def _update(self, state: JobState, event: JobStarted | JobOutput | TestProgress | JobFinished) -> None:
        if isinstance(event, JobStarted):
            state.status, state.started_at = RUNNING, self.clock()
        elif isinstance(event, JobOutput):
            if event.line.strip():
                state.last_line = event.line
        elif isinstance(event, TestProgress):
            state.has_tests = True
            state.done, state.total, state.failed = event.done, event.total, event.failed
        else:
            state.status, state.detail = event.status, event.detail
            state.duration_s = event.duration_s if event.started else None

    def elapsed(self, state: JobState) -> float | None:
        """Seconds the job has run (its duration once finished); None if it never ran."""
        if state.duration_s is not None:
            return state.duration_s
        if state.started_at is None:
            return None
        return self.clock() - state.started_at

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for state in self.jobs.values():
            out[state.status] = out.get(state.status, 0) + 1
        return out
