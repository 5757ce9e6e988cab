"""What every stage kind gets (``JobContext``) and must provide (``StageKind``).

A stage kind is a module of plain functions (pre-commit's languages are the
model): ``specs`` says which containers a job needs without running them
(``plan --calls``), ``run`` runs them through the engine and reads back results,
and the job cache and ``plan --calls`` ask the rest. A kind that has nothing to
say to one of them names the default here (``never_cached``, ``no_facts``,
``no_builds``), as pre-commit's languages name ``lang_base.no_install``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.cache.store import Store
from pipeline.config import Config
from pipeline.config.model import Service, StageBase
from pipeline.engines.base import Engine, RunResult
from pipeline.model.outcome import JobOutcome
from pipeline.model.secrets import Redactor
from pipeline.model.sizes import format_size, size_bytes
from pipeline.model.spec import (
    ContainerSpec,
    ImageBuild,
    ImageRef,
    Readiness,
    ReadinessKind,
    ServiceSpec,
)
from pipeline.plan import Job
from pipeline.stages.state import RunState

SOURCE_DIR = "/src"  # where the project root is copied in every job container
ARTIFACTS_DIR = "/slipway/out"  # where jobs write what the report collects


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """What the command line says about the whole run."""

    no_cache: bool = False
    max_parallel: int = 2
    total_cpus: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRun:
    """One run as its jobs see it; the run (``pipeline.run``) builds it and its state."""

    config: Config
    engine: Engine
    run_id: str
    report_dir: Path
    redactor: Redactor
    options: RunOptions = field(default_factory=RunOptions)
    state: RunState = field(default_factory=RunState)
    # Durable data (test durations, release history, job results); None: not configured.
    store: Store | None = None
    jobs: tuple[Job, ...] = ()  # the plan's jobs (stages that share a budget look at them)
    # Each job's duration in the last run, read once when the run starts (the CPU budget).
    last_durations: Mapping[str, float] = field(default_factory=dict)

    def for_job(self, job: Job) -> JobContext:
        return JobContext(run=self, job=job, stage=self.config.stage(job.stage))


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    """What a stage kind's functions get: the run, the job and its stage's config."""

    run: PipelineRun
    job: Job
    stage: StageBase

    @property
    def log_path(self) -> Path:
        return self.run.report_dir / "logs" / f"{safe_name(self.job.name)}.log"

    @property
    def artifacts_dir(self) -> Path:
        return self.run.report_dir / "artifacts" / safe_name(self.job.name)


class StageKind(Protocol):
    """The functions each stage kind module (``stages/<kind>.py`` or ``stages/<kind>/stage.py``)
    defines."""

    def specs(self, ctx: JobContext) -> list[ContainerSpec]:
        """The containers the job runs, without running anything (``plan --calls``)."""
        ...

    async def run(self, ctx: JobContext) -> JobOutcome:
        """Run the job through ``ctx.run.engine``; a failure is an outcome, not an exception."""
        ...

    def cache_inputs(self, ctx: JobContext) -> tuple[str, ...] | None:
        """Globs (relative to the project root) of the files that decide the job's result
        besides its specs; ``None``: never cached (builds and deploys change the world,
        so a kind opts in)."""
        ...

    def cache_specs(self, ctx: JobContext) -> list[ContainerSpec]:
        """The specs as the job-result key sees them (usually ``specs`` itself)."""
        ...

    def cache_facts(self, ctx: JobContext) -> Mapping[str, str]:
        """Anything else the job's result follows, for its key."""
        ...

    def builds(self, ctx: JobContext) -> list[ImageBuild]:
        """The image builds the job makes, without running anything (``plan --calls``)."""
        ...


def never_cached(ctx: JobContext) -> tuple[str, ...] | None:
    """``cache_inputs`` of a kind whose result must never come from the job cache."""
    return None


def no_facts(ctx: JobContext) -> dict[str, str]:
    """``cache_facts`` of a kind whose specs and inputs say everything."""
    return {}


def no_builds(ctx: JobContext) -> list[ImageBuild]:
    """``builds`` of a kind that builds no image."""
    return []


def service_spec(name: str, service: Service) -> ServiceSpec:
    """A pipeline.yaml service as an engine service spec."""
    readiness: Readiness | None = None
    if service.readiness is not None:
        r = service.readiness
        if r.command:
            readiness = Readiness(
                kind=ReadinessKind.COMMAND, command=tuple(r.command), timeout_s=r.timeout_s
            )
        elif r.healthcheck:
            readiness = Readiness(kind=ReadinessKind.HEALTHCHECK, timeout_s=r.timeout_s)
        else:
            readiness = Readiness(kind=ReadinessKind.TCP, timeout_s=r.timeout_s)
    elif service.port is not None:
        readiness = Readiness(kind=ReadinessKind.TCP)
    return ServiceSpec(
        name=name,
        image=ImageRef(ref=service.image),
        env=tuple(sorted(service.env.items())),
        port=service.port,
        command=tuple(service.command),
        readiness=readiness,
    )


def services_for(ctx: JobContext, names: tuple[str, ...]) -> tuple[ServiceSpec, ...]:
    services = ctx.run.config.model.services
    return tuple(service_spec(n, services[n]) for n in names)


def memory_limit(stage: StageBase) -> int | None:
    """The stage's ``memory:`` in bytes (validated by the config), None when unset."""
    text = getattr(stage, "memory", None)
    return None if text is None else size_bytes(text)


def oom_detail(result: RunResult, spec: ContainerSpec, stage: StageBase) -> str | None:
    """The job's one line when the OOM killer ended its command, with the memory it had."""
    if not result.oom_killed:
        return None
    limit = spec.limits.memory_bytes
    if not limit:
        return f"killed by the OOM killer (exit code {result.exit_code}): the machine ran out of memory"
    return (
        f"killed by the OOM killer at its memory limit of {format_size(limit)} "
        f"(memory: {getattr(stage, 'memory', None)}), exit code {result.exit_code}"
    )
