"""The sections of report.html as plain rows for the template: facts and cards, failing
tests with their excerpts, failed jobs, the jobs table, coverage, shards, merged runs,
flaky and quarantined tests. Values are read leniently (``reports/values.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pipeline.reports.html.excerpts import log_excerpt
from pipeline.reports.values import entries, offset, seconds, when

Row = dict[str, Any]


def status_class(status: str) -> str:
    return status if status in ("success", "failed", "cached", "skipped", "interrupted") else "unknown"


def seconds_text(value: float) -> str:
    return f"{value:.1f} s"


def _tests_text(value: object) -> str:
    if not isinstance(value, Mapping):
        return ""
    text = f"{value.get('passed', 0)} passed"
    for key in ("failed", "errors", "skipped", "flaky"):
        if value.get(key):
            text += f", {value[key]} {key}"
    return text


def _offset_text(started: datetime | None, origin: datetime | None) -> str:
    found = offset(started, origin)
    return f"+{found:.1f} s" if found is not None else ""


def facts(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[str]:
    out = [f"commit {str(report.get('git_sha') or '?')[:12]}", f"engine {report.get('engine') or '?'}"]
    origin = when(report.get("started"))
    if origin:
        out.append(f"started {origin.isoformat(sep=' ', timespec='seconds')}")
    if report.get("duration_s") is not None:
        out.append(f"took {seconds_text(seconds(report['duration_s']))}")
    out.append(f"{len(jobs)} jobs")
    return out


def cards(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Row]:
    tests = report.get("tests")
    out: list[Row] = []
    if isinstance(tests, Mapping):
        for key in ("passed", "failed", "errors", "skipped", "flaky"):
            bad = key in ("failed", "errors") and bool(tests.get(key))
            out.append({"label": key, "value": tests.get(key, 0), "bad": bad})
    failed = sum(1 for j in jobs if j.get("status") == "failed")
    if failed:
        out.append({"label": "jobs failed", "value": failed, "bad": True})
    return out


def failures(report: Mapping[str, Any], logs: Mapping[str, str], excerpt_lines: int) -> list[Row]:
    out: list[Row] = []
    for failure in entries(report.get("failures")):
        job, test = str(failure.get("job", "")), str(failure.get("test", ""))
        log = logs.get(job)
        out.append(
            {
                "test": test,
                "job": job,
                "reproduce": str(failure.get("reproduce", "")),
                "excerpt": log_excerpt(log, test, max_lines=excerpt_lines) if log else "",
            }
        )
    return out


def failed_jobs(
    jobs: Sequence[Mapping[str, Any]], failing: set[str], logs: Mapping[str, str], excerpt_lines: int
) -> list[Row]:
    """Failed jobs that have no failing test of their own (a build, a scan, a crash)."""
    out: list[Row] = []
    for job in jobs:
        name = str(job.get("name"))
        if job.get("status") != "failed" or name in failing:
            continue
        out.append(
            {
                "name": name,
                "detail": str(job.get("detail") or ""),
                "log": str(job.get("log") or ""),
                "excerpt": log_excerpt(logs[name], max_lines=excerpt_lines) if name in logs else "",
            }
        )
    return out


def job_rows(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Row]:
    critical = {str(n) for n in report.get("critical_path") or []}
    origin = when(report.get("started"))
    out: list[Row] = []
    for job in jobs:
        started = when(job.get("started"))
        name = str(job.get("name"))
        status = str(job.get("status") or "unknown")
        ran = started is not None or status != "skipped"
        out.append(
            {
                "name": name + (f" ({job['shard']})" if job.get("shard") else ""),
                "run": str(job.get("run_id") or ""),
                "stage": str(job.get("stage") or ""),
                "kind": str(job.get("kind") or ""),
                "status": status,
                "status_class": status_class(status),
                "offset": _offset_text(started, origin),
                "duration": seconds_text(seconds(job.get("duration_s"))) if ran else "",
                "tests": _tests_text(job.get("tests")),
                "detail": str(job.get("detail") or ""),
                "log": str(job.get("log") or ""),
                "critical": name in critical,
            }
        )
    return out


def coverage(report: Mapping[str, Any]) -> Row | None:
    raw = report.get("coverage")
    if not isinstance(raw, Mapping) or raw.get("percent") is None:
        return None
    percent = seconds(raw["percent"])  # a plain number, read leniently
    threshold = report.get("coverage_threshold")
    return {
        "percent": f"{percent:.1f}%",
        "width": f"{max(0.0, min(100.0, percent)):.1f}",
        "threshold": f"{seconds(threshold):.1f}%" if threshold is not None else None,
        "threshold_at": f"{max(0.0, min(100.0, seconds(threshold))):.1f}" if threshold is not None else "0",
    }


def _shard_index(shard: object) -> int:
    try:
        return int(str(shard).split("/")[0])
    except ValueError:
        return 0


def _balance_facts(info: Mapping[str, Any]) -> list[str]:
    out = []
    for key, label in (
        ("imbalance", "imbalance (longest / mean wall time)"),
        ("test_imbalance", "test-time imbalance"),
        ("planned_imbalance", "planned imbalance"),
    ):
        if info.get(key) is not None:
            out.append(f"{label} {seconds(info[key]):.2f}")
    return out


def shards(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Every sharded stage: its shards (from every run, for a merged report) and imbalance."""
    balance = report.get("shards") if isinstance(report.get("shards"), Mapping) else {}
    stages: dict[str, list[Mapping[str, Any]]] = {}
    for job in jobs:
        if job.get("shard"):
            stages.setdefault(str(job.get("stage") or job.get("name")), []).append(job)
    out: list[Row] = []
    for stage, group in stages.items():
        info = balance.get(stage) if isinstance(balance, Mapping) else None
        info = info if isinstance(info, Mapping) else {}
        test_seconds = {str(s.get("job")): s.get("test_seconds") for s in entries(info.get("shards"))}
        rows = []
        for job in sorted(group, key=lambda j: (_shard_index(j.get("shard")), str(j.get("run_id") or ""))):
            spent = job.get("test_seconds", test_seconds.get(str(job.get("name"))))
            status = str(job.get("status") or "unknown")
            rows.append(
                {
                    "shard": str(job.get("shard")),
                    "job": str(job.get("name")),
                    "run": str(job.get("run_id") or ""),
                    "status": status,
                    "status_class": status_class(status),
                    "duration": seconds_text(seconds(job.get("duration_s"))),
                    "test_seconds": seconds_text(seconds(spent)) if spent is not None else "",
                    "tests": _tests_text(job.get("tests")),
                }
            )
        out.append({"name": stage, "facts": _balance_facts(info), "rows": rows})
    return out


def merged_runs(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Row]:
    sources = [str(s) for s in report.get("merged_from") or []]
    if not sources:
        return []
    run_ids: list[str] = []
    for job in jobs:
        run = str(job.get("run_id") or "")
        if run and run not in run_ids:
            run_ids.append(run)
    # merge-reports keeps the sources' order, and jobs in that order: pair them up.
    out: list[Row] = []
    for index, run in enumerate(run_ids):
        mine = [j for j in jobs if str(j.get("run_id") or "") == run]
        out.append(
            {
                "run_id": run,
                "source": sources[index] if index < len(sources) and len(sources) == len(run_ids) else "",
                "jobs": len(mine),
                "failed": sum(1 for j in mine if j.get("status") == "failed"),
            }
        )
    return out


def test_lists(report: Mapping[str, Any]) -> list[Row]:
    out: list[Row] = []
    for key, title, note, anchor in (
        ("flaky_tests", "Flaky tests", "Failed, then passed on a rerun.", "flaky"),
        (
            "quarantined_tests",
            "Quarantined tests",
            "Failed, but quarantined in pipeline.yaml: they neither count nor fail the build.",
            "quarantined",
        ),
    ):
        found = [
            {"test": str(e.get("test", "")), "job": str(e.get("job", ""))} for e in entries(report.get(key))
        ]
        if found:
            out.append({"id": anchor, "title": title, "note": note, "entries": found})
    return out
