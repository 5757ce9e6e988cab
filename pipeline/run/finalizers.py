"""Steps that run after the scheduler and add to report.json (merged JUnit, coverage...).

Each finalizer gets the run and the scheduler's result and returns extra report
keys. ``failed_checks`` (a list of sentences) fails the run although every job
passed, e.g. a coverage threshold that the combined coverage misses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pipeline.reports import testsuite
from pipeline.scheduler import SchedulerResult
from pipeline.stages.base import PipelineRun

Finalizer = Callable[[PipelineRun, SchedulerResult], Mapping[str, Any]]

FINALIZERS: tuple[Finalizer, ...] = (testsuite.finalize,)


def finalize(finalizers: Iterable[Finalizer], run: PipelineRun, result: SchedulerResult) -> dict[str, Any]:
    """Every finalizer's keys in one mapping; ``failed_checks`` lists are joined."""
    extra: dict[str, Any] = {}
    for finalizer in finalizers:
        for key, value in finalizer(run, result).items():
            if key == "failed_checks":
                extra.setdefault(key, []).extend(value)
            else:
                extra[key] = value
    return extra
