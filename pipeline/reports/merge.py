"""``python -m pipeline merge-reports DIR... -o OUT``: one report from several runs.

A CI matrix runs ``run --shard i/N`` on N runners; a final job downloads their
report directories and merges them: jobs side by side (log and artifact paths
still pointing into each source directory), test totals summed, the worst
status, JUnit merged and coverage combined (each runner's paths mapped to this
checkout), shard balance recomputed. The merged report is built by the same
builder as a run's, so it has the same keys (duration, critical path, flaky and
quarantined tests).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.model.errors import UsageError
from pipeline.model.outcome import TestTotals
from pipeline.reports import coverage, junit
from pipeline.reports.run_report import read_report, report_document, write_report
from pipeline.reports.summary import render_summary
from pipeline.reports.testsuite import JOB_JUNIT_DIR, shard_balance

_WORST = {"success": 0, "failed": 1, "interrupted": 2}
_LISTS = ("failures", "flaky_tests", "quarantined_tests")


def _rebase(path: str | None, source: Path, out: Path) -> str | None:
    if not path:
        return path
    return os.path.relpath(source / path, out)


def _critical(report: Mapping[str, Any]) -> tuple[float, list[str]]:
    """A report's critical path and its total seconds (from the report's own jobs)."""
    path = [str(n) for n in report.get("critical_path") or []]
    took = {j["name"]: float(j.get("duration_s") or 0) for j in report["jobs"]}
    return sum(took.get(n, 0.0) for n in path), path


def _copy_job_junit(reports: list[tuple[Path, dict[str, Any]]], out: Path) -> None:
    """Every run's ``junit/<job>.xml`` into ``out/junit/``; a job two runs both ran (a
    stage without shards in every runner of the matrix) gets its run id in the name."""
    seen: set[str] = set()
    for src, report in reports:
        for path in sorted((src / JOB_JUNIT_DIR).glob("*.xml")):
            name = path.name if path.name not in seen else f"{path.stem}.{report['run_id']}.xml"
            seen.add(name)
            (out / JOB_JUNIT_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / JOB_JUNIT_DIR / name)


def merge_reports(sources: list[Path], out: Path, *, root: Path | None = None) -> dict[str, Any]:
    """Merge the reports in ``sources`` into ``out``; coverage paths map to ``root``
    (default: the current directory, the checkout the merging job runs in)."""
    if not sources:
        raise UsageError("merge-reports needs at least one report directory")
    reports = [(src, read_report(src)) for src in sources]
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[dict[str, Any]] = []
    for src, report in reports:
        for original in report["jobs"]:
            job = dict(original)
            job["log"] = _rebase(job.get("log"), src, out)
            job["artifacts"] = [_rebase(a, src, out) for a in job.get("artifacts", [])]
            job["run_id"] = report["run_id"]
            jobs.append(job)
    tests = [TestTotals.from_dict(r["tests"]) for _, r in reports if r.get("tests")]
    extra: dict[str, Any] = {key: [item for _, r in reports for item in r.get(key) or []] for key in _LISTS}
    extra["merged_from"] = [str(s) for s in sources]
    shas = {r.get("git_sha") for _, r in reports}
    if len(shas) > 1:
        extra["warnings"] = [f"the reports are of different commits: {sorted(map(str, shas))}"]
    junit_files = [src / "junit.xml" for src, _ in reports if (src / "junit.xml").is_file()]
    if junit_files:
        # Each run named its suites after their jobs (and mapped their paths): kept as they are.
        junit.merge(junit_files, out / "junit.xml")
        extra["junit"] = "junit.xml"
        _copy_job_junit(reports, out)
    percent = coverage.combine(
        [src / ".coverage" for src, _ in reports if (src / ".coverage").is_file()],
        data_file=out / ".coverage",
        xml_file=out / "coverage.xml",
        root=(root or Path.cwd()).resolve(),
        other_roots=[str(r["project_root"]) for _, r in reports if r.get("project_root")],
    )
    extra["shards"] = shard_balance(jobs)
    # The runners ran side by side: the merged run waited for the slowest one's path.
    _, critical = max((_critical(r) for _, r in reports), key=lambda t: t[0])
    merged = report_document(
        run_id="+".join(r["run_id"] for _, r in reports),
        git_sha=reports[0][1].get("git_sha", ""),
        engine=reports[0][1].get("engine", ""),
        status=max((r["status"] for _, r in reports), key=lambda s: _WORST.get(s, 1)),
        started=min(datetime.fromisoformat(r["started"]) for _, r in reports),
        finished=max(datetime.fromisoformat(r["finished"]) for _, r in reports),
        jobs=jobs,
        tests=TestTotals.sum(tests) if tests else None,
        critical_path=critical,
        coverage_percent=percent,
        extra=extra,
    )
    write_report(merged, out)
    (out / "summary.md").write_text(render_summary(merged), encoding="utf-8")
    return merged
