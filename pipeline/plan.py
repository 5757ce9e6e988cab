"""The plan: stages expanded to jobs (a sharded stage is N jobs), needs, order, critical path.

Knows nothing of how a job runs. ``--only`` / ``--skip`` / ``--shard`` select
from it before anything runs, so ``plan`` prints exactly what ``run`` will do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.config import Config, find_cycle
from pipeline.config_model import StageBase
from pipeline.model.errors import UsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    index: int  # 1-based
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            i_text, n_text = text.split("/")
            index, total = int(i_text), int(n_text)
        except ValueError:
            raise UsageError(f"--shard {text!r}: expected i/N, e.g. 2/4") from None
        if not 1 <= index <= total:
            raise UsageError(f"--shard {text!r}: i must be between 1 and N")
        return cls(index=index, total=total)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    name: str
    stage: str
    kind: str
    shard: Shard | None = None
    needs: tuple[str, ...] = ()
    group: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "stage": self.stage,
            "kind": self.kind,
            "shard": str(self.shard) if self.shard else None,
            "needs": list(self.needs),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    jobs: tuple[Job, ...]  # topological order
    durations: Mapping[str, float] = field(default_factory=dict)

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        known = ", ".join(j.name for j in self.jobs)
        raise UsageError(f"no job named {name!r} in the plan; jobs: {known}")

    def critical_path(self) -> tuple[list[str], float]:
        """The longest chain of needs by last-run durations (unknown counts as 0).

        With no durations at all (a first run) it is the longest chain by job count.
        """
        best: dict[str, tuple[float, list[str]]] = {}
        for job in self.jobs:  # topological, so needs are done first
            own = self.durations.get(job.name, 0.0) if self.durations else 1.0
            before = max(
                (best[n] for n in job.needs if n in best), key=lambda t: t[0], default=(0.0, [])
            )
            best[job.name] = (before[0] + own, [*before[1], job.name])
        if not best:
            return [], 0.0
        total, path = max(best.values(), key=lambda t: t[0])
        return path, total

    def to_json(self) -> str:
        path, total = self.critical_path()
        return json.dumps(
            {
                "jobs": [j.as_json() for j in self.jobs],
                "critical_path": {"jobs": path, "duration_s": round(total, 3)},
            },
            indent=2,
        )

    def to_text(self) -> str:
        lines = [f"{len(self.jobs)} jobs, in the order they can start:"]
        for job in self.jobs:
            needs = f"  <- {', '.join(job.needs)}" if job.needs else ""
            took = self.durations.get(job.name)
            last = f"  (last run {took:.1f}s)" if took is not None else ""
            lines.append(f"  {job.name:<28} {job.kind:<8}{needs}{last}")
        path, total = self.critical_path()
        if path:
            if self.durations:
                lines.append(f"critical path (last run's durations): {' -> '.join(path)}  {total:.1f}s")
            else:
                lines.append(f"critical path (no durations yet, by job count): {' -> '.join(path)}")
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        def node(name: str) -> str:
            return name.replace("-", "_").replace(".", "_")

        lines = ["graph LR"]
        for job in self.jobs:
            lines.append(f'  {node(job.name)}["{job.name}"]')
            lines.extend(f"  {node(n)} --> {node(job.name)}" for n in job.needs)
        return "\n".join(lines)


def job_names(stage: StageBase, shards: int) -> list[str]:
    if shards <= 1:
        return [stage.name]
    return [f"{stage.name}-{i}of{shards}" for i in range(1, shards + 1)]


def _matches(stage: StageBase, selectors: Iterable[str]) -> bool:
    kind = getattr(stage, "kind", "")
    return any(sel in (stage.name, stage.group, kind) for sel in selectors)


def select_stages(
    config: Config,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    with_needs: bool = True,
) -> list[StageBase]:
    """Stages to run: ``only`` (by name, group or kind) plus their needs, minus ``skip``."""
    stages = list(config.model.stages)
    only, skip = list(only), list(skip)
    known = {s.name for s in stages} | {s.group for s in stages if s.group} | {
        getattr(s, "kind", "") for s in stages
    }
    for sel in [*only, *skip]:
        if sel not in known:
            raise UsageError(
                f"no stage, group or kind named {sel!r}; stages: {', '.join(s.name for s in stages)}"
            )
    by_name = {s.name: s for s in stages}
    chosen = {s.name for s in stages if not only or _matches(s, only)}
    if only and with_needs:
        todo = list(chosen)
        while todo:
            for need in by_name[todo.pop()].needs:
                if need not in chosen:
                    chosen.add(need)
                    todo.append(need)
    chosen -= {s.name for s in stages if _matches(s, skip)}
    return [s for s in stages if s.name in chosen]


def build_plan(
    config: Config,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    with_needs: bool = True,
    shard: Shard | None = None,
    durations: Mapping[str, float] | None = None,
) -> Plan:
    """Expand the selected stages into jobs in topological order.

    Needs on a stage that was not selected are dropped (the user asked to run
    without it). With ``shard``, every sharded stage runs only that shard of N.
    """
    stages = select_stages(config, only, skip, with_needs)
    selected = {s.name for s in stages}
    stage_jobs: dict[str, list[Job]] = {}
    for stage in stages:
        shards = int(getattr(stage, "shards", 1))
        kind = str(getattr(stage, "kind", ""))
        if shard is not None and shards > 1:
            shards = shard.total
        names = job_names(stage, shards)
        jobs = [
            Job(
                name=name,
                stage=stage.name,
                kind=kind,
                shard=Shard(index=i, total=shards) if shards > 1 else None,
                group=stage.group,
            )
            for i, name in enumerate(names, start=1)
        ]
        if shard is not None and shards > 1:
            jobs = [j for j in jobs if j.shard and j.shard.index == shard.index]
        stage_jobs[stage.name] = jobs
    expanded: dict[str, Job] = {}
    for stage in stages:
        needs = tuple(
            j.name for need in stage.needs if need in selected for j in stage_jobs[need]
        )
        for job in stage_jobs[stage.name]:
            expanded[job.name] = Job(
                name=job.name,
                stage=job.stage,
                kind=job.kind,
                shard=job.shard,
                group=job.group,
                needs=needs,
            )
    cycle = find_cycle({name: job.needs for name, job in expanded.items()})
    if cycle:  # config validation rejects cycles; this guards programmatic plans
        raise UsageError(f"cycle in the job graph: {' -> '.join(cycle)}")
    return Plan(jobs=tuple(_toposort(expanded)), durations=dict(durations or {}))


def _toposort(jobs: Mapping[str, Job]) -> list[Job]:
    """Kahn's algorithm, keeping config order among jobs that are ready together."""
    order: list[Job] = []
    done: set[str] = set()
    pending = list(jobs.values())
    while pending:
        ready = [j for j in pending if all(n in done for n in j.needs)]
        for job in ready:
            order.append(job)
            done.add(job.name)
        pending = [j for j in pending if j.name not in done]
    return order
