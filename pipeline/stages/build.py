"""The ``build`` stage kind: docker-bake.hcl targets built through the engine, tagged
with the commit SHA as they are built, pushed, and their digests recorded.

There is no re-tag job: the tags exist from the build on. Later jobs (scans,
deploys) read each image's digest from the run state, so a deploy names the
exact bytes that were built.
"""

from __future__ import annotations

import time
from typing import Any

from pipeline.config.model import BuildStage
from pipeline.model.errors import SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.model.spec import ContainerSpec, ImageBuild
from pipeline.ship import images as app_images
from pipeline.ship.bake import BakeTarget
from pipeline.ship.images import AppImage
from pipeline.ship.publish import publish
from pipeline.ship.registry import split_ref
from pipeline.stages.base import JobContext, never_cached, no_facts


def _stage(ctx: JobContext) -> BuildStage:
    assert isinstance(ctx.stage, BuildStage)
    return ctx.stage


def image_build(ctx: JobContext, target: BakeTarget) -> ImageBuild:
    return ImageBuild(
        context=target.context,
        dockerfile=target.dockerfile,
        target=target.target,
        args=target.args,
        tags=app_images.image_tags(ctx.run.config, target),
    )


def specs(ctx: JobContext) -> list[ContainerSpec]:
    # A build is an image, not a job container: nothing for ``plan --calls`` to list
    # here beyond what the bake file says (``builds`` gives that).
    return []


cache_inputs = never_cached  # a build pushes: it changes the world
cache_specs = specs
cache_facts = no_facts


def builds(ctx: JobContext) -> list[ImageBuild]:
    """The image builds this job makes, without running anything."""
    bake = app_images.bake_file(ctx.run.config)
    return [image_build(ctx, t) for t in bake.resolve(_stage(ctx).targets)]


async def run(ctx: JobContext) -> JobOutcome:
    stage = _stage(ctx)
    config = ctx.run.config
    targets = app_images.bake_file(config).resolve(stage.targets)
    creds = app_images.credentials(config) if stage.push else None
    images: dict[str, Any] = {}
    notes: list[str] = []
    for target in targets:
        build = image_build(ctx, target)
        if target.labels:
            notes.append(
                f"{target.name}: labels are read but not applied (the engine's ImageBuild carries none yet)"
            )
        if target.cache_from or target.cache_to:
            notes.append(
                f"{target.name}: cache-from/cache-to are not supported on the {ctx.run.engine.name} "
                "engine; built with the engine's own layer cache"
            )
        started = time.monotonic()
        try:
            built = await ctx.run.engine.build_image(build, log_path=ctx.log_path)
        except SlipwayError as exc:
            return JobOutcome(
                status=JobStatus.FAILED,
                detail=f"building {target.name} failed: {exc}",
                data={"images": images, "notes": notes},
            )
        build_s = round(time.monotonic() - started, 2)
        image = AppImage(target=target.name, tags=build.tags)
        push_s = 0.0
        pushed = app_images.registry_tags(config, build.tags) if stage.push else ()
        if stage.push and not pushed:
            notes.append(f"{target.name}: no tag names the registry; not pushed")
        started = time.monotonic()
        for tag in pushed:
            try:
                digest = await publish(
                    ctx.run.engine,
                    built,
                    tag,
                    credentials=creds,
                    log_path=ctx.log_path,
                    redactor=ctx.run.redactor,
                )
            except SlipwayError as exc:
                with JobLog(ctx.log_path, ctx.run.redactor) as log:
                    log.engine(f"error: pushing {tag} failed: {exc}")
                return JobOutcome(
                    status=JobStatus.FAILED,
                    detail=f"pushing {tag} failed: {exc}",
                    data={"images": images, "notes": notes},
                )
            host, repo, _ = split_ref(tag)
            image = AppImage(target=target.name, tags=build.tags, repository=f"{host}/{repo}", digest=digest)
        push_s = round(time.monotonic() - started, 2)
        await ctx.run.state.app_images.record(image)
        images[target.name] = {**image.as_data(), "build_s": build_s, "push_s": push_s}
        with JobLog(ctx.log_path, ctx.run.redactor) as log:
            log.engine(f"{target.name}: {image.pinned} (build {build_s}s, push {push_s}s)")
    for note in notes:
        with JobLog(ctx.log_path, ctx.run.redactor) as log:
            log.engine(note)
    summary = ", ".join(f"{name} {data['ref']}" for name, data in images.items())
    return JobOutcome(status=JobStatus.SUCCESS, detail=summary, data={"images": images, "notes": notes})
