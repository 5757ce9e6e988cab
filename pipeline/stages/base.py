"""What every stage kind gets (``JobContext``) and must provide (``StageKind``).

A stage kind is a module with two plain functions (pre-commit's languages are
the model): ``specs`` says which containers a job needs without running them
(``plan --calls``), ``run`` runs them through the engine and reads back results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

from pipeline.cache.store import Store
from pipeline.config import Config
from pipeline.config.model import Service, StageBase
from pipeline.engines.base import Engine
from pipeline.model.outcome import JobOutcome
from pipeline.model.secrets import Redactor
from pipeline.model.spec import (
    ContainerSpec,
    ImageRef,
    Readiness,
    ReadinessKind,
    ServiceSpec,
)
from pipeline.plan import Job
from pipeline.ship.images import AppImageRecords

SOURCE_DIR = "/src"  # where the project root is copied in every job container
ARTIFACTS_DIR = "/slipway/out"  # where jobs write what the report collects


@dataclass(slots=True)
class RunState:
    """Facts jobs hand to later jobs (built image digests, deployed releases)."""

    values: dict[str, Any] = field(default_factory=dict)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    app_images: AppImageRecords = field(default_factory=AppImageRecords)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    no_cache: bool = False
    max_parallel: int = 2
    total_cpus: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRun:
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
    """The functions each ``pipeline/stages/<kind>.py`` module defines (and optionally
    ``cache_inputs``, see below)."""

    def specs(self, ctx: JobContext) -> list[ContainerSpec]:
        """The containers the job runs, without running anything (``plan --calls``)."""
        ...

    async def run(self, ctx: JobContext) -> JobOutcome:
        """Run the job through ``ctx.run.engine``; a failure is an outcome, not an exception."""
        ...


def cache_inputs(kind: StageKind, ctx: JobContext) -> tuple[str, ...] | None:
    """Globs (relative to the project root) of the files that decide a job's result besides
    its specs, from the kind's optional ``cache_inputs(ctx)``; ``None``: never cached
    (builds and deploys change the world, so a kind opts in)."""
    fn = getattr(kind, "cache_inputs", None)
    if fn is None:
        return None
    result: tuple[str, ...] | None = fn(ctx)
    return result


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
