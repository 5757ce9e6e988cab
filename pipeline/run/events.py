"""What a run tells whoever watches it, as it happens: the run layer emits these, the
command line renders them (a live view on a terminal, plain lines or CI log groups
elsewhere: ``pipeline/commands/view/``). Plain data, so a test can collect them in a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PlannedJob:
    name: str
    stage: str
    kind: str
    shard: str | None
    needs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """Every job of the plan, and the critical path expected from the last run's times."""

    run_id: str
    jobs: tuple[PlannedJob, ...]
    critical_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JobStarted:
    job: str


@dataclass(frozen=True, slots=True)
class JobOutput:
    """One line of a running job's log, as it is written (already redacted)."""

    job: str
    line: str


@dataclass(frozen=True, slots=True)
class TestProgress:
    """A test job's counts so far (``total`` None until collection is done)."""

    __test__ = False  # not a pytest test class, whatever its name says

    job: str
    done: int
    total: int | None
    failed: int


@dataclass(frozen=True, slots=True)
class JobFinished:
    """A job's end (``status`` as in report.json); a job that never started has one too."""

    job: str
    status: str
    duration_s: float
    detail: str
    log: Path | None
    started: bool


@dataclass(frozen=True, slots=True)
class Note:
    """A line for the person watching: the cache store, a volume restored, a failed check."""

    text: str


@dataclass(frozen=True, slots=True)
class CiLine:
    """A line the CI itself must read, verbatim (a GitHub annotation)."""

    text: str


RunEvent = RunStarted | JobStarted | JobOutput | TestProgress | JobFinished | Note | CiLine
OnEvent = Callable[[RunEvent], None]
