"""A sharded group's test ids: collected once per run in a container, shared by its shards.

``pytest --collect-only -q`` runs in its own container (no services: collection
imports test modules, it runs no test), with the group's selection options only.
"""

from __future__ import annotations

from pipeline.model.errors import SlipwayError
from pipeline.model.spec import ContainerSpec, Limits
from pipeline.stages.base import JobContext
from pipeline.stages.pytest import impact
from pipeline.stages.pytest import shards as sharding
from pipeline.stages.pytest.container import plugin_files, pytest_args, selection, spec, stage_of

LISTING = "/slipway/collected.txt"


async def collected(ctx: JobContext, image: str) -> tuple[str, ...]:
    """The group's node ids (collected by the first shard that asks, once per run)."""
    return await ctx.run.state.collected.get(stage_of(ctx).name, lambda: _collect(ctx, image))


async def _collect(ctx: JobContext, image: str) -> tuple[str, ...]:
    name = stage_of(ctx).name
    base = spec(ctx, image=image, select=selection(ctx))
    args = [a for a in pytest_args(ctx, workers=1, select=selection(ctx)) if a not in ("--cov-report=",)]
    args = without_impact(args)
    collect = ContainerSpec(
        name=f"{name}-collect",
        image=base.image,
        commands=(
            ("sh", "-c", f'python -m pytest --collect-only -q "$@" > {LISTING}', "sh", *collect_args(args)),
        ),
        directories=base.directories,
        files=plugin_files(),
        env=tuple((k, v) for k, v in base.env if not k.startswith(("SLIPWAY_DB_", "SLIPWAY_IMPACT_"))),
        workdir=base.workdir,
        outputs=(LISTING,),
        limits=Limits(memory_bytes=base.limits.memory_bytes),
    )
    out_dir = ctx.run.report_dir / "artifacts" / f"{name}-collect"
    log = ctx.run.report_dir / "logs" / f"{name}-collect.log"
    result = await ctx.run.engine.run(collect, log_path=log, output_dir=out_dir)
    listing = result.outputs.get(LISTING)
    if not result.ok or listing is None:
        raise SlipwayError(f"collecting {name} for sharding failed; see {log}")
    return tuple(sharding.parse_collected(listing.read_text(encoding="utf-8")))


def collect_args(args: list[str]) -> list[str]:
    """Selection options only: collection needs paths, -m, -p and -o, not -n or reports."""
    keep: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in ("-n", "--dist", "--junitxml", "--reruns"):
            skip_next = True
            continue
        if arg.startswith("--cov"):
            continue
        keep.append(arg)
    return keep


def without_impact(args: list[str]) -> list[str]:
    """The impact plugin is not loaded to collect: it is not copied into the collecting
    container (``-p`` of a missing module fails collection), and it selects nothing there."""
    plugins = set(impact.PLUGIN_MODULES.values())
    out: list[str] = []
    for arg in args:
        if out and out[-1] == "-p" and arg in plugins:
            out.pop()
            continue
        out.append(arg)
    return out
