"""Runs one slow job on the Docker engine until interrupted (driven by test_docker_cleanup).

usage: python docker_sigint_job.py RUN_ID LOG_PATH
Exits 130 after ^C, as the CLI does, once the engine has cleaned up.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.spec import CacheMount, ContainerSpec, ImageRef, ServiceSpec, Sharing


async def main(run_id: str, log_path: Path) -> None:
    engine = DockerEngine(RunContext(run_id=run_id), aliases=DEFAULT_ALIASES)
    image = ImageRef(ref="python:3.11-slim")
    spec = ContainerSpec(
        name="slow job",
        image=image,
        services=(ServiceSpec(name="side", image=image, command=("sleep", "600")),),
        caches=(CacheMount(name="scratch", path="/scratch", sharing=Sharing.PRIVATE),),
        commands=(("sleep", "600"),),
    )
    try:
        await engine.run(spec, log_path=log_path, output_dir=log_path.parent / "out")
    finally:
        with anyio.CancelScope(shield=True):
            await engine.aclose()


if __name__ == "__main__":
    try:
        anyio.run(main, sys.argv[1], Path(sys.argv[2]))
    except KeyboardInterrupt:
        sys.exit(130)
