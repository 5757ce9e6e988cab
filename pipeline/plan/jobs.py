"""Jobs and the plan: a job's facts, the DAG in order, its critical path and renderings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.config.model import MAX_SHARDS
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
        if total > MAX_SHARDS:
            raise UsageError(f"--shard {text!r}: N is at most {MAX_SHARDS}")
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
