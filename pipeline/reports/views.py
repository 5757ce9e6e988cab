"""What a person opens after a run: the timeline picture and report.html, made from a
written report (a run's own or a merged one), beside it in the report directory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.reports.html import write_html
from pipeline.reports.timeline import render_svg, write_timeline


@dataclass(frozen=True, slots=True)
class Views:
    html: Path
    timeline: tuple[Path, ...]  # timeline.svg, timeline.png


def write_views(report: Mapping[str, Any], report_dir: Path) -> Views:
    """Write timeline.svg, timeline.png and report.html (with the timeline inlined)."""
    pictures = write_timeline(report, report_dir)
    html = write_html(report, report_dir, timeline_svg=render_svg(report))
    return Views(html=html, timeline=tuple(pictures))
