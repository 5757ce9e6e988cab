"""What the timeline shows, read from a report.json-shaped mapping (DESIGN.md).

Read leniently: a job's optional ``needs`` place a skipped job after what it
waited for, and optional ``worker_timings`` (``[{"worker": "gw0", "started": ISO,
"finished": ISO, "tests": int}]``) become the xdist workers' spans. Times are
seconds since the run started.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.reports.values import offset, seconds, when


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSpan:
    """One xdist worker of a job, in seconds since the run started."""

    worker: str
    start_s: float
    end_s: float
    tests: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpan:
    """One job of the run, in seconds since the run started (None: it never ran)."""

    name: str
    stage: str
    shard: str | None
    status: str
    start_s: float | None
    end_s: float | None
    duration_s: float
    critical: bool = False
    detail: str = ""
    run_id: str | None = None
    needs: tuple[str, ...] = ()
    workers: tuple[WorkerSpan, ...] = ()
    worker_count: int | None = None  # xdist workers, when only their number is known

    @property
    def label(self) -> str:
        return f"{self.name}  {self.shard}" if self.shard and self.shard not in self.name else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """What the picture shows: the run's jobs on one time axis."""

    title: str
    subtitle: str
    total_s: float
    jobs: tuple[JobSpan, ...]
    critical_path: tuple[str, ...] = ()


def _shard_index(shard: str | None) -> int:
    try:
        return int(str(shard).split("/")[0])
    except ValueError:
        return 0


def timeline_from_report(report: Mapping[str, Any]) -> Timeline:
    """The picture's model from a report.json mapping (a run's own or a merged one)."""
    raw_jobs: list[Mapping[str, Any]] = [j for j in report.get("jobs") or [] if isinstance(j, Mapping)]
    starts = [t for j in raw_jobs if (t := when(j.get("started"))) is not None]
    origin = when(report.get("started")) or (min(starts) if starts else None)
    critical = tuple(str(n) for n in report.get("critical_path") or [])
    names = [str(j.get("name", "?")) for j in raw_jobs]
    # In a merged report the same job can come from several runs; the run id tells them apart.
    duplicated = {n for n in names if names.count(n) > 1}
    jobs: list[JobSpan] = []
    for job in raw_jobs:
        name = str(job.get("name", "?"))
        run_id = str(job["run_id"]) if job.get("run_id") else None
        start = offset(when(job.get("started")), origin) if origin else None
        end = offset(when(job.get("finished")), origin) if origin else None
        duration = seconds(job.get("duration_s"))
        if start is not None and end is None:
            end = start + duration
        workers = tuple(_workers(job.get("worker_timings"), origin)) if origin else ()
        jobs.append(
            JobSpan(
                name=f"{name} ({run_id})" if name in duplicated and run_id else name,
                stage=str(job.get("stage") or name),
                shard=str(job["shard"]) if job.get("shard") else None,
                status=str(job.get("status") or "unknown"),
                start_s=start,
                end_s=end,
                duration_s=duration if duration else max(0.0, (end or 0.0) - (start or 0.0)),
                critical=name in critical,
                detail=str(job.get("detail") or ""),
                run_id=run_id,
                needs=tuple(str(n) for n in job.get("needs") or []),
                workers=workers,
                worker_count=job["workers"] if isinstance(job.get("workers"), int) else None,
            )
        )
    ends = [j.end_s for j in jobs if j.end_s is not None]
    finished = when(report.get("finished"))
    run_s = offset(finished, origin) if finished and origin else None
    total = max([*ends, run_s or 0.0, seconds(report.get("duration_s")), 1.0])
    return Timeline(
        title=f"Slipway run {report.get('run_id', '?')} · {report.get('status', '?')}",
        subtitle=_subtitle(report, jobs, total),
        total_s=total,
        jobs=tuple(_ordered(jobs)),
        critical_path=critical,
    )


def _workers(raw: object, origin: datetime) -> Iterable[WorkerSpan]:
    if not isinstance(raw, list):
        return
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        start = offset(when(item.get("started")), origin)
        end = offset(when(item.get("finished")), origin)
        if start is None or end is None:
            continue
        tests = item.get("tests")
        yield WorkerSpan(
            worker=str(item.get("worker", "?")),
            start_s=start,
            end_s=max(start, end),
            tests=int(tests) if isinstance(tests, int) else None,
        )


def _subtitle(report: Mapping[str, Any], jobs: Sequence[JobSpan], total: float) -> str:
    parts = []
    if report.get("git_sha"):
        parts.append(f"commit {str(report['git_sha'])[:12]}")
    if report.get("engine"):
        parts.append(f"engine {report['engine']}")
    parts.append(f"{len(jobs)} jobs in {total:.1f} s")
    failed = sum(1 for j in jobs if j.status == "failed")
    if failed:
        parts.append(f"{failed} failed")
    critical = [j for j in jobs if j.critical]
    if critical:
        parts.append(f"critical path {sum(j.duration_s for j in critical):.1f} s")
    return " · ".join(parts)


def _ordered(jobs: list[JobSpan]) -> list[JobSpan]:
    """Stages in the order they started (never-run ones last), a stage's shards together."""
    first_seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        first_seen.setdefault(job.stage, index)
    stage_start: dict[str, float] = {}
    for job in jobs:
        if job.start_s is not None:
            stage_start[job.stage] = min(stage_start.get(job.stage, math.inf), job.start_s)
    return sorted(
        jobs,
        key=lambda j: (
            stage_start.get(j.stage, math.inf),
            first_seen[j.stage],
            _shard_index(j.shard),
            j.start_s if j.start_s is not None else math.inf,
        ),
    )
