"""The timeline picture of a run: one bar per job on a time axis, coloured by status.

The critical path is outlined and linked, test shards get a row each, and the
xdist workers of a job, when the report carries their timings, are thin bars
under it. ``model`` reads report.json, ``layout`` places shapes (``shapes``),
``svg`` and ``png`` draw the same layout. Every job bar carries ``data-job``,
``data-status`` and ``data-critical`` so tests and tools can read the picture.

``python -m pipeline.reports.timeline REPORT_DIR`` renders an existing report.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.reports.timeline.model import JobSpan, Timeline, WorkerSpan, timeline_from_report
from pipeline.reports.timeline.png import render_png
from pipeline.reports.timeline.shapes import STATUS_COLORS
from pipeline.reports.timeline.svg import render_svg

SVG_FILE = "timeline.svg"
PNG_FILE = "timeline.png"

__all__ = [
    "PNG_FILE",
    "STATUS_COLORS",
    "SVG_FILE",
    "JobSpan",
    "Timeline",
    "WorkerSpan",
    "main",
    "render_png",
    "render_svg",
    "timeline_from_report",
    "write_timeline",
]


def write_timeline(report: Mapping[str, Any], report_dir: Path) -> list[Path]:
    """Write timeline.svg and timeline.png into ``report_dir``; their paths."""
    timeline = timeline_from_report(report)
    report_dir.mkdir(parents=True, exist_ok=True)
    svg = report_dir / SVG_FILE
    svg.write_text(render_svg(timeline), encoding="utf-8")
    return [svg, render_png(timeline, report_dir / PNG_FILE)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.reports.timeline REPORT_DIR``: render that run's report.json."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m pipeline.reports.timeline REPORT_DIR", file=sys.stderr)
        return 2
    report_dir = Path(args[0])
    try:
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{report_dir / 'report.json'}: cannot read the report: {exc}", file=sys.stderr)
        return 2
    for path in write_timeline(report, report_dir):
        print(path)
    return 0
