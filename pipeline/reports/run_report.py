"""report.json: the contract in DESIGN.md (keys kept; extra keys added freely)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.model.errors import UsageError
from pipeline.model.outcome import TestTotals
from pipeline.scheduler import JobRecord, SchedulerResult

REPORT_FILE = "report.json"


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
        entry["tests"] = asdict(outcome.tests)
    if outcome and outcome.data:
        entry.update({k: v for k, v in outcome.data.items() if k not in entry})
    return entry


def total_tests(records: Sequence[JobRecord]) -> TestTotals | None:
    totals = [r.outcome.tests for r in records if r.outcome and r.outcome.tests is not None]
    if not totals:
        return None
    result = TestTotals()
    for t in totals:
        result = result + t
    return result


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
    tests = total_tests(result.records)
    report: dict[str, Any] = {
        "run_id": run_id,
        "git_sha": git_sha,
        "engine": engine,
        "status": str(result.status),
        "started": _iso(result.started),
        "finished": _iso(result.finished),
        "duration_s": round((result.finished - result.started).total_seconds(), 3),
        "jobs": [job_entry(r, report_dir) for r in result.records],
        "tests": asdict(tests) if tests else None,
        "coverage": {"percent": coverage_percent} if coverage_percent is not None else None,
        "critical_path": list(critical_path),
    }
    if extra:
        report.update({k: v for k, v in extra.items() if k not in report})
    return report


def write_report(report: Mapping[str, Any], report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / REPORT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
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
