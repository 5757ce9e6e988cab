"""report.html rendered with jinja2 (autoescape on: test names and logs are data) from
the template and stylesheet in ``templates/``; the stylesheet is inlined, the timeline
SVG too, so the page needs no network and no other file."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from pipeline.reports.html import rows
from pipeline.reports.html.excerpts import EXCERPT_LINES
from pipeline.reports.values import entries, seconds

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("pipeline.reports.html", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)
_CSS = resources.files("pipeline.reports.html").joinpath("templates/report.css").read_text(encoding="utf-8")


def _strip_xml_declaration(svg: str) -> str:
    # Inline in HTML an SVG must start at <svg>: a declaration or doctype would show as text.
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def render_html(
    report: Mapping[str, Any],
    *,
    timeline_svg: str | None = None,
    logs: Mapping[str, str] | None = None,
    excerpt_lines: int = EXCERPT_LINES,
) -> str:
    """The page for a report.json mapping (a run's own or merged).

    ``timeline_svg``: the picture to inline (``timeline.render_svg(report)``);
    ``logs``: job name -> log text, for the failures' excerpts (``read_logs``).
    """
    logs = logs or {}
    jobs = entries(report.get("jobs"))
    status = str(report.get("status") or "unknown")
    critical = [str(n) for n in report.get("critical_path") or []]
    took = {str(j.get("name")): seconds(j.get("duration_s")) for j in jobs}
    failures = rows.failures(report, logs, excerpt_lines)
    return _ENV.get_template("report.html.j2").render(
        css=Markup(_CSS),  # noqa: S704 -- our own stylesheet
        run_id=str(report.get("run_id") or "?"),
        status=status,
        status_class=rows.status_class(status),
        facts=rows.facts(report, jobs),
        failed_checks=[str(c) for c in report.get("failed_checks") or []],
        warnings=[str(w) for w in report.get("warnings") or []],
        cards=rows.cards(report, jobs),
        coverage=rows.coverage(report),
        failures=failures,
        failed_jobs=rows.failed_jobs(jobs, {f["job"] for f in failures}, logs, excerpt_lines),
        # Drawn by our own timeline module, which escapes every text it writes.
        timeline_svg=Markup(_strip_xml_declaration(timeline_svg)) if timeline_svg else None,  # noqa: S704
        jobs=rows.job_rows(report, jobs),
        critical_path=critical,
        critical_seconds=rows.seconds_text(sum(took.get(n, 0.0) for n in critical)),
        shards=rows.shards(report, jobs),
        merged=rows.merged_runs(report, jobs),
        test_lists=rows.test_lists(report),
    )
