"""summary.md: jobs with status and duration, the critical path, the slowest jobs, failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ICON = {"success": "✅", "failed": "❌", "skipped": "⏭️", "cached": "♻️"}
_LISTED = 50  # failing tests listed in summary.md; report.json keeps them all


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
    lines += _needs_network(jobs)
    details = {str(j["name"]): str(j.get("detail") or "") for j in jobs}
    lines += _failures(report.get("failures") or [], details)
    failed_jobs = [j for j in jobs if j.get("status") == "failed"]
    if failed_jobs:
        lines += ["", "## Failed jobs", ""]
        for job in failed_jobs:
            lines.append(f"- {job['name']}: log `{job.get('log')}`")
    return "\n".join(lines) + "\n"


def _needs_network(jobs: list[Mapping[str, Any]]) -> list[str]:
    out = [
        f"- `{item['test']}` in {job['name']}: `{item.get('cause', '')}`"
        for job in jobs
        for item in job.get("needs_network") or []
    ]
    if not out:
        return []
    note = "This runner has no network for them (a DNS lookup or the route failed):"
    return ["", "## Tests that need the network", "", note, *out]


def _failures(failures: list[Mapping[str, Any]], details: Mapping[str, str]) -> list[str]:
    """Failed and errored tests, each said for what it is. A cause the job's line already
    names (one cause for all, an early stop) is not repeated per test."""
    if not failures:
        return []
    errors = sum(1 for f in failures if f.get("outcome") == "error")
    failed = len(failures) - errors
    heading = " and ".join(
        p for p in (f"{failed} failed" if failed else "", f"{errors} errored" if errors else "") if p
    )
    lines = ["", f"## Tests: {heading}", ""]
    for failure in failures[:_LISTED]:
        how = "error" if failure.get("outcome") == "error" else "failed"
        said = str(failure.get("cause") or "") in details.get(str(failure.get("job")), "")
        cause = f": `{failure['cause']}`" if failure.get("cause") and not said else ""
        lines.append(f"- `{failure['test']}` ({how}) in {failure['job']}{cause}")
        lines.append(f"  reproduce: `{failure['reproduce']}`")
    if len(failures) > _LISTED:
        lines.append(f"- ... and {len(failures) - _LISTED} more (report.json has them all)")
    return lines
