"""The ``command`` stage kind: argv commands in an image, with the project copied in."""

from __future__ import annotations

from pathlib import PurePosixPath

from pipeline.config.model import CommandStage
from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.model.paths import COPY_EXCLUDES
from pipeline.model.spec import CacheMount, ContainerSpec, DirectoryMount, ImageRef, Limits, Sharing
from pipeline.stages.base import (
    SOURCE_DIR,
    JobContext,
    memory_limit,
    no_builds,
    no_facts,
    oom_detail,
    services_for,
)


def _stage(ctx: JobContext) -> CommandStage:
    assert isinstance(ctx.stage, CommandStage)
    return ctx.stage


def specs(ctx: JobContext) -> list[ContainerSpec]:
    stage = _stage(ctx)
    root = ctx.run.config.project_root
    dest = str(PurePosixPath(SOURCE_DIR) / stage.source) if stage.source != "." else SOURCE_DIR
    return [
        ContainerSpec(
            name=ctx.job.name,
            image=ImageRef(ref=stage.image),
            commands=tuple(tuple(c) for c in stage.commands),
            directories=(
                DirectoryMount(
                    source=root / stage.source,
                    dest=dest,
                    exclude=(*COPY_EXCLUDES, *stage.exclude),
                ),
            ),
            caches=tuple(
                CacheMount(name=c.name, path=c.path, sharing=Sharing(c.sharing)) for c in stage.caches
            ),
            services=services_for(ctx, stage.services),
            env=tuple(sorted(stage.env.items())),
            secrets=tuple(stage.secrets),
            workdir=str(PurePosixPath(SOURCE_DIR) / stage.workdir),
            outputs=tuple(stage.outputs),
            limits=Limits(memory_bytes=memory_limit(stage)),
        )
    ]


def cache_inputs(ctx: JobContext) -> tuple[str, ...] | None:
    # Everything copied in decides the result: the source directory, as copied.
    stage = _stage(ctx)
    return (stage.source if stage.source != "." else "**",)


cache_specs = specs
cache_facts = no_facts
builds = no_builds


async def run(ctx: JobContext) -> JobOutcome:
    (spec,) = specs(ctx)
    result = await ctx.run.engine.run(spec, log_path=ctx.log_path, output_dir=ctx.artifacts_dir)
    artifacts = tuple(sorted(result.outputs.values()))
    if result.ok:
        return JobOutcome(status=JobStatus.SUCCESS, artifacts=artifacts)
    return JobOutcome(
        status=JobStatus.FAILED,
        artifacts=artifacts,
        detail=f"{oom_detail(result, spec, ctx.stage) or f'command exited {result.exit_code}'}; "
        f"see {ctx.log_path.name}",
    )
