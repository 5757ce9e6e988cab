"""What a run shows in CI: the GitHub step summary, annotations, and log groups.

- ``summary``: Markdown for ``$GITHUB_STEP_SUMMARY`` (jobs, durations, totals,
  failing tests with their reproduce command, the timeline as a Mermaid gantt
  chart from ``gantt``).
- ``annotations``: each failing test becomes ``::error file=,line=,title=::`` at
  its file and line in the repository (``locations``: JUnit, the test's source,
  and the container-to-repository ``PathMap``); flaky and quarantined tests
  become ``::warning``.
- ``groups``: ``::group::`` in GitHub, collapsible sections in GitLab, ``--- NAME ---``
  headers elsewhere (Woodpecker), and the stop-commands guard for streamed logs.

Everything is a pure function of its inputs, except ``append_step_summary`` and
``emit_github``, which write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.reports.github.annotations import ANNOTATIONS_PER_KIND, annotations_for
from pipeline.reports.github.commands import Annotation, Level, escape_data, escape_property, workflow_command
from pipeline.reports.github.gantt import mermaid_gantt
from pipeline.reports.github.groups import (
    Flavor,
    ci_flavor,
    group_end,
    group_start,
    log_group,
    resume_commands,
    stop_commands,
)
from pipeline.reports.github.locations import TestLocation, file_of, find_test_line, junit_locations
from pipeline.reports.github.summary import SUMMARY_LIMIT_BYTES, append_step_summary, step_summary
from pipeline.reports.paths import PathMap

__all__ = [
    "ANNOTATIONS_PER_KIND",
    "SUMMARY_LIMIT_BYTES",
    "Annotation",
    "Flavor",
    "Level",
    "PathMap",
    "TestLocation",
    "annotations_for",
    "append_step_summary",
    "ci_flavor",
    "emit_github",
    "escape_data",
    "escape_property",
    "file_of",
    "find_test_line",
    "group_end",
    "group_start",
    "in_github_actions",
    "junit_locations",
    "log_group",
    "mermaid_gantt",
    "resume_commands",
    "step_summary",
    "stop_commands",
    "workflow_command",
]


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


def emit_github(
    report: Mapping[str, Any],
    report_dir: Path,
    *,
    write: Callable[[str], object],
    paths: PathMap | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """In GitHub Actions: append the step summary and ``write`` each annotation line.

    Reads ``report_dir/junit.xml`` (the merged JUnit) for the tests' lines. Does
    nothing outside GitHub Actions (``GITHUB_ACTIONS`` is not ``true``). Returns
    the number of annotations written.
    """
    env = os.environ if env is None else env
    if not in_github_actions(env):
        return 0
    append_step_summary(report, env)
    junit = report_dir / str(report.get("junit") or "junit.xml")
    locations = junit_locations(junit) if junit.is_file() else []
    found = annotations_for(report, locations=locations, paths=paths)
    for annotation in found:
        write(annotation.render())
    return len(found)
