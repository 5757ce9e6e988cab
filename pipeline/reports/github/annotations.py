"""Each failing test as an ``::error`` at its file and line; flaky and quarantined
tests as ``::warning``. GitHub shows 10 error, 10 warning and 10 notice annotations
per step (50 per job), so at most that many of each are printed, and one notice
says how many were left out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.reports.github.commands import Annotation
from pipeline.reports.github.locations import TestLocation, file_of, find_test_line
from pipeline.reports.paths import PathMap
from pipeline.reports.values import entries

ANNOTATIONS_PER_KIND = 10
_MESSAGE_LINES = 12  # of a failure's message in an annotation: enough to read, not a wall


def _short(node_id: str) -> str:
    return node_id.rsplit("::", maxsplit=1)[-1]


def _first_lines(text: str, count: int) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:count]) + ("\n..." if len(lines) > count else "")


class _Locator:
    """Finds a test's repository file and line: from the run's JUnit, else from its node
    id (mapped from the job's container) and its source."""

    def __init__(self, locations: Sequence[TestLocation], paths: PathMap, jobs: Mapping[str, Any]) -> None:
        self._by_suite = {(loc.suite, loc.node_id): loc for loc in locations}
        self._by_id = {loc.node_id: loc for loc in locations}
        self._paths = paths
        self._jobs = jobs

    def find(self, node_id: str, *, job: str) -> tuple[str | None, int | None, str]:
        loc = self._by_suite.get((job, node_id)) or self._by_id.get(node_id)
        file = loc.file if loc else None
        if file is None:
            entry = self._jobs.get(job, {})
            rootdir = entry.get("pytest_rootdir")
            file = self._paths.test_file(
                file_of(node_id),
                stage=str(entry.get("stage") or job),
                rootdir=rootdir if isinstance(rootdir, str) else None,
            )
        line = loc.line if loc else None
        root = self._paths.repo_root
        if line is None and file and root is not None:
            try:
                source = (root / file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                source = ""
            line = find_test_line(source, node_id)
        return file, line, loc.message if loc else ""


def annotations_for(
    report: Mapping[str, Any],
    *,
    locations: Sequence[TestLocation] = (),
    paths: PathMap | None = None,
    limit: int = ANNOTATIONS_PER_KIND,
) -> list[Annotation]:
    """The run's annotations, most useful first, at most ``limit`` of each level.

    Errors: each failing test (report["failures"]: ``{"test", "job", "reproduce"}``)
    at its file and line; then each failed job that has no failing test of its own
    (a build, a scan, a test job that wrote no JUnit), and each of
    report["failed_checks"]. Warnings: flaky tests (report["flaky_tests"]),
    failing quarantined tests (report["quarantined_tests"]) and report["warnings"].
    """
    jobs = {str(j.get("name")): j for j in entries(report.get("jobs"))}
    locator = _Locator(locations, paths or PathMap(), jobs)

    errors: list[Annotation] = []
    seen: set[tuple[str, str]] = set()
    for failure in entries(report.get("failures")):
        test, job = str(failure.get("test", "")), str(failure.get("job", ""))
        if (job, test) in seen:
            continue
        seen.add((job, test))
        file, line, message = locator.find(test, job=job)
        body = _first_lines(message, _MESSAGE_LINES) if message else f"{test} failed"
        if failure.get("reproduce"):
            body += f"\n\nReproduce: {failure['reproduce']}"
        errors.append(
            Annotation(
                level="error", title=f"{_short(test)} failed ({job})", message=body, file=file, line=line
            )
        )
    jobs_with_failures = {job for job, _ in seen}
    for name, entry in jobs.items():
        if entry.get("status") == "failed" and name not in jobs_with_failures:
            detail = str(entry.get("detail") or "see its log")
            log = f" (log: {entry['log']})" if entry.get("log") else ""
            errors.append(Annotation(level="error", title=f"job {name} failed", message=detail + log))
    errors += [
        Annotation(level="error", title="check failed", message=str(check))
        for check in report.get("failed_checks") or []
    ]

    warnings: list[Annotation] = []
    for key, what in (("flaky_tests", "flaky"), ("quarantined_tests", "quarantined")):
        for entry in entries(report.get(key)):
            test, job = str(entry.get("test", "")), str(entry.get("job", ""))
            file, line, _ = locator.find(test, job=job)
            message = (
                f"{test} failed, then passed on a rerun in {job}"
                if what == "flaky"
                else f"{test} failed in {job}; it is quarantined, so it does not fail the build"
            )
            warnings.append(
                Annotation(
                    level="warning", title=f"{what}: {_short(test)}", message=message, file=file, line=line
                )
            )
    warnings += [Annotation(level="warning", message=str(w)) for w in report.get("warnings") or []]

    out = errors[:limit] + warnings[:limit]
    left = max(0, len(errors) - limit), max(0, len(warnings) - limit)
    if any(left):
        out.append(
            Annotation(
                level="notice",
                title="more annotations than GitHub shows",
                message=f"{left[0]} more errors and {left[1]} more warnings are not annotated "
                f"(GitHub shows {limit} of each per step): see the job summary or report.html",
            )
        )
    return out
