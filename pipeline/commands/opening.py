"""Where a run's report is, said at its end, and ``report DIR --open``: its report.html
in the user's web browser (Python's ``webbrowser``; ``$BROWSER`` chooses one)."""

from __future__ import annotations

import webbrowser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.commands.options import out, say
from pipeline.reports.html import HTML_FILE
from pipeline.reports.views import Views, write_views


def print_report_paths(report_dir: Path, views: Views | None) -> None:
    """The report's files, one per line, for a person to open (and CI to find)."""
    out.print(f"report: {report_dir / 'report.json'}", markup=False)
    if views is not None:
        out.print(f"report.html: {views.html}", markup=False)
        out.print(f"timeline: {', '.join(str(p) for p in views.timeline)}", markup=False)


def open_report(report: Mapping[str, Any], report_dir: Path) -> bool:
    """Open ``report_dir``'s report.html (written first if an older run left none)."""
    page = report_dir / HTML_FILE
    if not page.is_file():
        page = write_views(report, report_dir).html
    uri = page.resolve().as_uri()
    if webbrowser.open(uri):
        say(f"opened {page} in a web browser")
        return True
    say(f"no web browser found here (set BROWSER to choose one); open {page} yourself")
    return False
