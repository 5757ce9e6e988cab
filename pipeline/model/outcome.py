"""What a job and a run come to: statuses, test totals and a job's outcome.

A failing job is an outcome with a status, never an exception (nox's
``Result``); the scheduler records outcomes, the reports read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar


class JobStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"


class RunStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestTotals:
    """Test counts: each test once, by its final outcome (report.json's ``tests``)."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    flaky: int = 0

    def __add__(self, other: TestTotals) -> TestTotals:
        return TestTotals(
            passed=self.passed + other.passed,
            failed=self.failed + other.failed,
            skipped=self.skipped + other.skipped,
            errors=self.errors + other.errors,
            flaky=self.flaky + other.flaky,
        )

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestTotals:
        """From report.json's ``tests`` (unknown keys ignored, missing ones 0)."""
        return cls(**{f.name: int(data.get(f.name) or 0) for f in fields(cls)})

    @classmethod
    def sum(cls, totals: Iterable[TestTotals]) -> TestTotals:
        result = cls()
        for t in totals:
            result = result + t
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutcome:
    """What a stage returns for one job. A failure is an outcome, not an exception."""

    status: JobStatus
    artifacts: tuple[Path, ...] = ()
    tests: TestTotals | None = None
    detail: str = ""  # one line for the summary: why it failed, what it produced
    data: Mapping[str, Any] = field(default_factory=dict)  # extra report fields
