"""report.html: one self-contained page of a run, for a person who opens the CI artifact.

Jobs with status and duration, the timeline picture (the SVG inlined), failing
tests with their reproduce command and log excerpt (``excerpts``), flaky and
quarantined tests, coverage, and for a merged run every shard with the run it
came from (``rows``). Nothing on the page loads from the network: the CSS is
inline, fonts are the system's, no script (``page`` and ``templates/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.reports.html.excerpts import EXCERPT_LINES, log_excerpt, read_logs
from pipeline.reports.html.page import render_html

HTML_FILE = "report.html"
TIMELINE_SVG = "timeline.svg"

__all__ = ["EXCERPT_LINES", "HTML_FILE", "log_excerpt", "read_logs", "render_html", "write_html"]


def write_html(report: Mapping[str, Any], report_dir: Path, *, timeline_svg: str | None = None) -> Path:
    """Write ``report_dir/report.html``; the timeline is the given SVG or the
    timeline.svg already in the directory, the excerpts come from the failed jobs' logs."""
    if timeline_svg is None:
        try:
            timeline_svg = (report_dir / TIMELINE_SVG).read_text(encoding="utf-8")
        except OSError:
            timeline_svg = None
    page = render_html(report, timeline_svg=timeline_svg, logs=read_logs(report, report_dir))
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / HTML_FILE
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)  # a reader (a browser, an artifact upload) never sees half a page
    return path
