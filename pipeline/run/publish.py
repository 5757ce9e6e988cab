"""After report.json is written: what people read of it.

The timeline picture and report.html beside the report (``reports/views.py``), and
in GitHub Actions the step summary and the annotations (``reports/github``), with
test paths mapped from the containers back to the repository (``reports/paths.py``).
Used by a run and by ``merge-reports``. None of it may cost the run its report or its
exit code: a failure here is said, and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.model.disk import is_no_space
from pipeline.reports.github import emit_github
from pipeline.reports.paths import PathMap, path_map, repository_root
from pipeline.reports.views import Views, write_views
from pipeline.run.events import CiLine, Note, OnEvent


def publish(
    report: Mapping[str, Any],
    report_dir: Path,
    *,
    config: Config | None,
    on_event: OnEvent,
    env: Mapping[str, str] | None = None,
) -> Views | None:
    """Write the timeline and report.html; in GitHub Actions, the summary and annotations.
    ``config`` maps test paths to the repository (None: the current directory's)."""
    env = os.environ if env is None else env
    views: Views | None = None
    try:
        views = write_views(report, report_dir)
    except Exception as exc:  # a bug in a picture must not lose the run's exit code
        why = (
            f"({report_dir}: no space left on device)"
            if is_no_space(exc)
            else f"({type(exc).__name__}: {exc}); this is a bug in Slipway, please report it"
        )
        on_event(Note(f"report.html and the timeline were not written {why}"))
    if config is not None:
        paths = path_map(config, env)
    else:
        paths = PathMap(repo_root=repository_root(Path.cwd(), env))
    try:
        emit_github(report, report_dir, write=lambda line: on_event(CiLine(line)), paths=paths, env=env)
    except OSError as exc:  # GITHUB_STEP_SUMMARY not writable
        on_event(Note(f"the GitHub step summary was not written: {exc}"))
    return views
