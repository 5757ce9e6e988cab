"""Log excerpts for report.html: the part of a failed job's log about one failing test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.model.joblog import EVENT_PREFIX
from pipeline.reports.values import entries

EXCERPT_LINES = 60
_LOG_TAIL_BYTES = 512 * 1024  # of a failed job's log read for excerpts: a failure is near the end
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PYTEST_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
# Where a failure's block ends: the next block, the next "=== ... ===" section, or the
# "--- generated xml file: ... ---" line pytest prints after the last one.
_PYTEST_END = re.compile(r"^(?:_{3,} .+ _{3,}|={3,}.*={3,}|-+ generated xml file: .*)$")


def _clip(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    # The head names the test, the tail holds the assertion and where it failed.
    head = max(3, max_lines // 6)
    return [
        *lines[:head],
        f"... ({len(lines) - max_lines} lines left out) ...",
        *lines[-(max_lines - head) :],
    ]


def log_excerpt(log_text: str, node_id: str | None = None, *, max_lines: int = EXCERPT_LINES) -> str:
    """The part of a job's log about one test: pytest's FAILURES block for ``node_id``
    (``____ Class.test[p] ____`` up to the next block), else the log's last lines."""
    # A job's event lines (the progress plugin's) are not output; an engine that writes
    # a job's output whole at its end (Dagger) leaves them in the log.
    lines = [line for line in _ANSI.sub("", log_text).splitlines() if not line.startswith(EVENT_PREFIX)]
    if node_id and "::" in node_id:
        head_line = ".".join(node_id.split("::")[1:])  # how pytest titles a failure
        for start, line in enumerate(lines):
            match = _PYTEST_HEADER.match(line.strip())
            if match and match.group(1) == head_line:
                end = next(
                    (i for i in range(start + 1, len(lines)) if _PYTEST_END.match(lines[i].strip())),
                    len(lines),
                )
                return "\n".join(_clip(lines[start:end], max_lines))
    return "\n".join(_clip(lines[-max_lines:], max_lines))


def read_logs(report: Mapping[str, Any], report_dir: Path) -> dict[str, str]:
    """The logs (their last 512 KiB) of the failed jobs, by job name, for ``render_html``."""
    logs: dict[str, str] = {}
    for job in entries(report.get("jobs")):
        if job.get("status") != "failed" or not job.get("log"):
            continue
        path = report_dir / str(job["log"])
        try:
            with path.open("rb") as handle:
                size = path.stat().st_size
                handle.seek(max(0, size - _LOG_TAIL_BYTES))
                logs[str(job.get("name"))] = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
    return logs
