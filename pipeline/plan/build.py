"""Stages to jobs: selection (``--only`` / ``--skip`` / ``--shard``), shards, needs, order.

Knows nothing of how a job runs. Selection happens before anything runs, so
``plan`` prints exactly what ``run`` will do. The standard library's graphlib
gives the order and finds cycles.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping

from pipeline.config import Config, find_cycle
from pipeline.config.model import StageBase
from pipeline.model.errors import UsageError
from pipeline.plan.jobs import Job, Plan, Shard


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
    """graphlib's order, taking the jobs that are ready together in config order."""
    position = {name: i for i, name in enumerate(jobs)}
    sorter = graphlib.TopologicalSorter({name: job.needs for name, job in jobs.items()})
    sorter.prepare()
    order: list[Job] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(jobs[name] for name in ready)
        sorter.done(*ready)
    return order
