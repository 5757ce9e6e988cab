"""The jobs that ran as a Mermaid gantt chart: GitHub renders Mermaid in summaries."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pipeline.reports.values import entries, when

_MERMAID_UNSAFE = re.compile(r"[:;#\n\r]")


def mermaid_gantt(report: Mapping[str, Any]) -> str | None:
    """The jobs that ran as a Mermaid gantt chart (GitHub renders Mermaid in summaries).

    Times are offsets from the run's start written as ``HH:mm:ss`` (mermaid 11
    misreads ``dateFormat X``; offsets also keep the reader's time zone out of
    it), one section per job kind. Failed jobs are ``crit`` (red), cached ones
    ``done`` (grey); the critical path is starred. None when no job ran.
    """
    critical = set(report.get("critical_path") or [])
    timed: list[tuple[datetime, datetime, Mapping[str, Any]]] = []
    for job in entries(report.get("jobs")):
        start, end = when(job.get("started")), when(job.get("finished"))
        if start is not None and end is not None:
            timed.append((start, end, job))
    origin = when(report.get("started"))
    try:
        origin = min([origin, *(t[0] for t in timed)] if origin else [t[0] for t in timed])
        rows = [((s - origin).total_seconds(), (e - origin).total_seconds(), j) for s, e, j in timed]
    except (TypeError, ValueError):  # no job ran, or naive and aware times mixed
        return None
    if not rows:
        return None
    by_kind: dict[str, list[tuple[float, float, Mapping[str, Any]]]] = {}
    for row in sorted(rows, key=lambda r: r[0]):
        by_kind.setdefault(_MERMAID_UNSAFE.sub(" ", str(row[2].get("kind") or "jobs")), []).append(row)
    longest = max(end for _, end, _ in rows)
    lines = [
        "gantt",
        "    dateFormat HH:mm:ss",
        f"    axisFormat {'%H:%M:%S' if longest >= 3600 else '%M:%S'}",
    ]
    lines.append("    todayMarker off")
    index = 0
    for kind, group in by_kind.items():
        lines.append(f"    section {kind}")
        for start_s, end_s, job in group:
            name = _MERMAID_UNSAFE.sub(" ", str(job.get("name")))
            if job.get("shard"):
                name += f" {job['shard']}"
            if job.get("name") in critical:
                name = f"★ {name}"
            tags = {"failed": "crit, ", "cached": "done, ", "skipped": "done, "}.get(
                str(job.get("status")), ""
            )
            # Whole seconds, at least one: a zero-length bar would not be drawn at all.
            first = max(0, math.floor(start_s))
            last = max(math.ceil(end_s), first + 1)
            lines.append(f"    {name} :{tags}j{index}, {_hms(first)}, {_hms(last)}")
            index += 1
    return "\n".join(lines)


def _hms(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{min(hours, 23):02d}:{rest // 60:02d}:{rest % 60:02d}"
