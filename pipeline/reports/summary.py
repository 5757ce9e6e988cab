"""summary.md: jobs with status and duration, the critical path, the slowest jobs, failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ICON = {"success": "✅", "failed": "❌", "skipped": "⏭️", "cached": "♻️"}


def render_summary(report: Mapping[str, Any]) -> str:
    jobs: list[Mapping[str, Any]] = list(report.get("jobs", []))
    lines = [
        f"# Slipway run {report.get('run_id', '?')}: {report.get('status', '?')}",
        "",
        f"commit `{str(report.get('git_sha', ''))[:12]}` · engine {report.get('engine', '?')} · "
        f"{float(report.get('duration_s') or 0):.1f}s",
        "",
        "| job | status | duration | detail |",
        "|---|---|---:|---|",
    ]
    for job in jobs:
        status = str(job.get("status"))
        detail = str(job.get("detail") or "").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {job['name']} | {_ICON.get(status, '')} {status} | "
            f"{float(job.get('duration_s') or 0):.1f}s | {detail} |"
        )
    tests = report.get("tests")
    if tests:
        lines += [
            "",
            f"**Tests:** {tests['passed']} passed, {tests['failed']} failed, "
            f"{tests['skipped']} skipped, {tests['errors']} errors, {tests['flaky']} flaky",
        ]
    coverage = report.get("coverage")
    if coverage:
        lines.append(f"**Coverage:** {coverage['percent']:.1f}%")
    path = report.get("critical_path") or []
    if path:
        by_name = {j["name"]: j for j in jobs}
        total = sum(float(by_name.get(n, {}).get("duration_s") or 0) for n in path)
        lines += ["", f"**Critical path** ({total:.1f}s): {' → '.join(path)}"]
    ran = [j for j in jobs if j.get("status") in ("success", "failed")]
    if ran:
        lines += ["", "**Slowest jobs:**"]
        for job in sorted(ran, key=lambda j: -float(j.get("duration_s") or 0))[:5]:
            lines.append(f"- {job['name']}: {float(job['duration_s']):.1f}s")
    failures = report.get("failures") or []
    if failures:
        lines += ["", "## Failing tests", ""]
        for failure in failures:
            lines.append(f"- `{failure['test']}` in {failure['job']}")
            lines.append(f"  reproduce: `{failure['reproduce']}`")
    failed_jobs = [j for j in jobs if j.get("status") == "failed"]
    if failed_jobs:
        lines += ["", "## Failed jobs", ""]
        for job in failed_jobs:
            lines.append(f"- {job['name']}: log `{job.get('log')}`")
    return "\n".join(lines) + "\n"
