"""``python -m pipeline merge-reports DIR... -o OUT``: one report from several runs.

A CI matrix runs ``run --shard i/N`` on N runners; a final job downloads their
report directories and merges them: jobs side by side (log and artifact paths
still pointing into each source directory), test totals summed, the worst
status, JUnit merged and coverage combined, shard balance recomputed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import coverage

from pipeline.model.errors import UsageError
from pipeline.reports import junit
from pipeline.reports.run_report import read_report, write_report
from pipeline.reports.summary import render_summary
from pipeline.reports.testsuite import shard_balance

_WORST = {"success": 0, "failed": 1, "interrupted": 2}
TEST_KEYS = ("passed", "failed", "skipped", "errors", "flaky")


def _rebase(path: str | None, source: Path, out: Path) -> str | None:
    if not path:
        return path
    return os.path.relpath(source / path, out)


def merge_reports(sources: list[Path], out: Path) -> dict[str, Any]:
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
    tests = [r["tests"] for _, r in reports if r.get("tests")]
    merged: dict[str, Any] = {
        "run_id": "+".join(r["run_id"] for _, r in reports),
        "git_sha": reports[0][1].get("git_sha", ""),
        "engine": reports[0][1].get("engine", ""),
        "status": max((r["status"] for _, r in reports), key=lambda s: _WORST.get(s, 1)),
        "started": min(r["started"] for _, r in reports),
        "finished": max(r["finished"] for _, r in reports),
        "jobs": jobs,
        "tests": {k: sum(int(t.get(k, 0)) for t in tests) for k in TEST_KEYS} if tests else None,
        "coverage": None,
        "merged_from": [str(s) for s in sources],
        "failures": [f for _, r in reports for f in r.get("failures", [])],
        "flaky_tests": [f for _, r in reports for f in r.get("flaky_tests", [])],
    }
    shas = {r.get("git_sha") for _, r in reports}
    if len(shas) > 1:
        merged["warnings"] = [f"the reports are of different commits: {sorted(map(str, shas))}"]
    junit_files = [src / "junit.xml" for src, _ in reports if (src / "junit.xml").is_file()]
    if junit_files:
        junit.merge(junit_files, out / "junit.xml", names=[str(p.parent) for p in junit_files])
        merged["junit"] = "junit.xml"
    data_files = [str(src / ".coverage") for src, _ in reports if (src / ".coverage").is_file()]
    if data_files:
        cov = coverage.Coverage(data_file=str(out / ".coverage"), config_file=False)
        cov.combine(data_files, keep=True)
        cov.save()
        try:
            percent = cov.xml_report(outfile=str(out / "coverage.xml"), ignore_errors=True)
            merged["coverage"] = {"percent": round(float(percent), 2)}
        except coverage.exceptions.NoDataError:
            pass
    merged["shards"] = shard_balance(jobs)
    write_report(merged, out)
    (out / "summary.md").write_text(render_summary(merged), encoding="utf-8")
    return merged

