"""``plan --calls JOB``: the engine calls a job would make, printed, nothing run."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.engines.base import RunContext
from pipeline.engines.select import choose_engine
from pipeline.model.errors import SlipwayError
from pipeline.model.secrets import Redactor
from pipeline.plan import Job
from pipeline.run.engine import engine_factory
from pipeline.stages import KINDS
from pipeline.stages.base import PipelineRun


def describe_job(config: Config, job: Job, requested: str) -> str:
    """Describe with the engine ``run`` would choose (Docker's calls if none is reachable)."""
    note = ""
    name: str
    target = None
    if requested == "auto":
        try:
            choice = choose_engine("auto")
            name, target = choice.name, choice.dagger
        except SlipwayError:
            name, note = "docker", "  (no engine reachable now; showing the Docker engine's calls)"
    else:
        name = requested
    ctx = RunContext(run_id="plan", redactor=Redactor())
    engine = engine_factory(config, name, target)(ctx)
    pipeline_run = PipelineRun(
        config=config,
        engine=engine,
        run_id="plan",
        report_dir=config.base_dir / "slipway-report",
        redactor=ctx.redactor,
    )
    kind = KINDS.get(job.kind)
    if kind is None:
        raise SlipwayError(f"stage kind {job.kind!r} is not available in this Slipway")
    job_ctx = pipeline_run.for_job(job)
    lines = [f"# {job.name} ({job.kind}) on the {name} engine{note}"]
    # Kinds that build images (build) say which builds, before any container.
    builds = kind.builds(job_ctx)
    for build in builds:
        lines.append(f"## image build {build.dockerfile}")
        lines.append(build.describe())
    specs = kind.specs(job_ctx)
    for spec in specs:
        lines.append(f"## container {spec.name}")
        lines.extend(engine.describe(spec))
    if not builds and not specs:
        lines.append(f"(a {job.kind} job decides its containers at run time, from what earlier jobs made)")
    return "\n".join(lines)

