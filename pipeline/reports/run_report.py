"""report.json: the contract in DESIGN.md (keys kept; extra keys added freely)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.model.errors import UsageError
from pipeline.model.outcome import TestTotals
from pipeline.scheduler import JobRecord, SchedulerResult

REPORT_FILE = "report.json"
# Keys every report has (empty unless the run's finalizers or a merge fill them).
_FROM_EXTRA = ("failures", "flaky_tests", "quarantined_tests")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def job_entry(record: JobRecord, report_dir: Path) -> dict[str, Any]:
    outcome = record.outcome
    entry: dict[str, Any] = {
        "name": record.job.name,
        "stage": record.job.stage,
        "kind": record.job.kind,
        "shard": str(record.job.shard) if record.job.shard else None,
        "status": str(record.status),
        "started": _iso(record.started),
        "finished": _iso(record.finished),
        "duration_s": record.duration_s,
        "log": _rel(record.log, report_dir) if record.log else None,
        "artifacts": [_rel(p, report_dir) for p in (outcome.artifacts if outcome else ())],
        "needs": list(record.job.needs),
        "detail": record.detail,
    }
    if outcome and outcome.tests is not None:
        entry["tests"] = outcome.tests.as_dict()
    if outcome and outcome.data:
        entry.update({k: v for k, v in outcome.data.items() if k not in entry})
    return entry


def total_tests(records: Sequence[JobRecord]) -> TestTotals | None:
    totals = [r.outcome.tests for r in records if r.outcome and r.outcome.tests is not None]
    return TestTotals.sum(totals) if totals else None


def report_document(
    *,
    run_id: str,
    git_sha: str,
    engine: str,
    status: str,
    started: datetime,
    finished: datetime,
    jobs: Sequence[Mapping[str, Any]],
    tests: TestTotals | None,
    critical_path: Sequence[str] = (),
    coverage_percent: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The one report builder: a run's report and a merged one have the same keys."""
    report: dict[str, Any] = {
        "run_id": run_id,
        "git_sha": git_sha,
        "engine": engine,
        "status": status,
        "started": _iso(started),
        "finished": _iso(finished),
        "duration_s": round((finished - started).total_seconds(), 3),
        "jobs": [dict(j) for j in jobs],
        "tests": tests.as_dict() if tests else None,
        "coverage": {"percent": coverage_percent} if coverage_percent is not None else None,
        "critical_path": list(critical_path),
        "failures": [],
        "flaky_tests": [],
        "quarantined_tests": [],
    }
    if extra:
        report.update({k: v for k, v in extra.items() if k not in report or k in _FROM_EXTRA})
    return report


def build_report(
    result: SchedulerResult,
    *,
    run_id: str,
    git_sha: str,
    engine: str,
    report_dir: Path,
    critical_path: Sequence[str] = (),
    coverage_percent: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A run's report, from the scheduler's records."""
    return report_document(
        run_id=run_id,
        git_sha=git_sha,
        engine=engine,
        status=str(result.status),
        started=result.started,
        finished=result.finished,
        jobs=[job_entry(r, report_dir) for r in result.records],
        tests=total_tests(result.records),
        critical_path=critical_path,
        coverage_percent=coverage_percent,
        extra=extra,
    )


def write_report(report: Mapping[str, Any], report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / REPORT_FILE
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half report behind
        raise
    tmp.replace(path)  # a reader never sees half a report
    return path


def read_report(report_dir: Path) -> dict[str, Any]:
    path = report_dir / REPORT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no report here; pass the --report-dir of an earlier run") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc}); was the run killed while writing?") from None
    if not isinstance(data, dict) or "jobs" not in data:
        raise UsageError(f"{path}: not a Slipway report (no 'jobs')")
    return data
