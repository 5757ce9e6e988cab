"""The run as GitHub Markdown for ``$GITHUB_STEP_SUMMARY``: jobs, durations, totals,
failing tests with their reproduce command, and the timeline.

The summary cannot show our own picture: GitHub's Markdown sanitizer drops
``data:`` image URIs and inline SVG, and an artifact has no URL an ``<img>`` could
use while the run is still going. It does render Mermaid, so the timeline there
is a Mermaid ``gantt`` chart (``gantt.py``); timeline.png and report.html stay in
the report artifact.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.reports.github.gantt import mermaid_gantt
from pipeline.reports.values import entries, seconds, when

# GitHub's documented limit of a step summary's size.
SUMMARY_LIMIT_BYTES = 1024 * 1024
SUMMARY_FAILURES_SHOWN = 50
_ICON = {"success": "✅", "failed": "❌", "skipped": "⏭️", "cached": "♻️", "interrupted": "⏹️"}


def _code(text: str) -> str:
    """Inline code that survives backticks in the text (CommonMark: a longer fence)."""
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(text: str, lang: str = "") -> list[str]:
    ticks = max(3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1)
    return ["`" * ticks + lang, text, "`" * ticks]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def step_summary(report: Mapping[str, Any], *, max_bytes: int = SUMMARY_LIMIT_BYTES) -> str:
    """The run as GitHub Markdown, at most ``max_bytes`` (the failing tests are cut first)."""
    jobs = entries(report.get("jobs"))
    status = str(report.get("status", "?"))
    head = [
        f"## {_ICON.get(status, '')} Slipway: {status} · run {_cell(str(report.get('run_id', '?')))}",
        "",
        _facts(report, jobs),
        "",
    ]
    tests = report.get("tests")
    if isinstance(tests, Mapping):
        line = (
            f"**Tests:** {tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
            f"{tests.get('errors', 0)} errors, {tests.get('skipped', 0)} skipped, "
            f"{tests.get('flaky', 0)} flaky"
        )
        head += [line, ""]
    coverage = report.get("coverage")
    if isinstance(coverage, Mapping) and coverage.get("percent") is not None:
        threshold = report.get("coverage_threshold")
        head += [
            f"**Coverage:** {seconds(coverage['percent']):.1f}%"
            + (f" (threshold {seconds(threshold):.1f}%)" if threshold is not None else ""),
            "",
        ]
    head += [f"- ❌ {_cell(str(c))}" for c in report.get("failed_checks") or []]
    head += [f"- ⚠️ {_cell(str(w))}" for w in report.get("warnings") or []]

    tail = ["", "### Jobs", "", *_jobs_table(jobs, report), ""]
    chart = mermaid_gantt(report)
    if chart:
        tail += ["### Timeline", "", *_fenced(chart, "mermaid"), ""]
    tail += _test_lists(report)
    tail.append("_Full report: report.html, timeline.png and the logs in the run's report artifact._")

    failures = entries(report.get("failures"))
    budget = max_bytes - _size("\n".join(head + tail) + "\n") - 512  # room for the "more" line
    section: list[str] = []
    if failures:
        section = ["### Failing tests", ""]
        shown = 0
        for failure in failures[:SUMMARY_FAILURES_SHOWN]:
            block = [
                f"- {_code(str(failure.get('test', '')))} in {_cell(str(failure.get('job', '')))}",
                "",
                *[f"  {line}" for line in _fenced(str(failure.get("reproduce", "")), "sh")],
                "",
            ]
            if _size("\n".join(section + block)) > budget:
                break
            section += block
            shown += 1
        if shown < len(failures):
            section += [f"_...and {len(failures) - shown} more: see report.html._", ""]
    text = "\n".join([*head, *section, *tail]) + "\n"
    if _size(text) > max_bytes:  # a report with thousands of jobs: keep what fits, whole lines
        text = text.encode("utf-8")[: max_bytes - 64].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        text += "\n\n_(cut: the step summary is limited to 1 MiB)_\n"
    return text


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _facts(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[str(job.get("status"))] = counts.get(str(job.get("status")), 0) + 1
    parts = [
        f"commit {_code(str(report.get('git_sha', ''))[:12])}",
        f"engine {report.get('engine', '?')}",
        f"{seconds(report.get('duration_s')):.1f} s" if report.get("duration_s") is not None else "",
        f"{len(jobs)} jobs: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])),
    ]
    merged = report.get("merged_from")
    if merged:
        parts.append(f"merged from {len(merged)} reports")
    return " · ".join(p for p in parts if p)


def _jobs_table(jobs: Sequence[Mapping[str, Any]], report: Mapping[str, Any]) -> list[str]:
    critical = set(report.get("critical_path") or [])
    origin = when(report.get("started"))
    rows = ["| job | status | starts at | duration | detail |", "|---|---|---:|---:|---|"]
    for job in jobs:
        status = str(job.get("status"))
        started = when(job.get("started"))
        offset = ""
        if origin and started:
            try:
                offset = f"+{(started - origin).total_seconds():.1f} s"
            except TypeError:
                offset = ""
        name = _cell(str(job.get("name")))
        if job.get("shard"):
            name += f" ({_cell(str(job['shard']))})"
        if job.get("name") in critical:
            name = f"**{name}** ★"
        rows.append(
            f"| {name} | {_ICON.get(status, '')} {status} | {offset} | "
            f"{seconds(job.get('duration_s')):.1f} s | {_cell(str(job.get('detail') or ''))[:300]} |"
        )
    if critical:
        rows += [
            "",
            f"★ critical path: {' → '.join(_cell(str(n)) for n in report.get('critical_path') or [])}",
        ]
    return rows


def _test_lists(report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, title in (("flaky_tests", "Flaky tests"), ("quarantined_tests", "Quarantined tests")):
        items = entries(report.get(key))
        if items:
            out += [f"<details><summary>{title} ({len(items)})</summary>", ""]
            out += [
                f"- {_code(str(e.get('test', '')))} in {_cell(str(e.get('job', '')))}" for e in items[:200]
            ]
            out += ["", "</details>", ""]
    return out


def append_step_summary(report: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Path | None:
    """Append the summary to the file ``$GITHUB_STEP_SUMMARY`` names (other steps' text
    stays: the file is the step's, shared with whatever else wrote to it). None when unset."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        used = path.stat().st_size
    except OSError:
        used = 0
    room = SUMMARY_LIMIT_BYTES - used
    if room < 4096:  # GitHub drops a summary over its limit whole: better to add nothing
        return None
    text = step_summary(report, max_bytes=room - 2)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(("\n" if used else "") + text)
    return path
