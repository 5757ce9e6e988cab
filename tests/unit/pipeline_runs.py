"""A ``PipelineRun`` of a pipeline.yaml over a minimal project, for the tests of a stage's
pure parts: ``from tests.unit.pipeline_runs import pipeline_run``."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.secrets import Redactor
from pipeline.plan import build_plan
from pipeline.stages.base import PipelineRun, RunOptions


def pipeline_run(root: Path, config: str, *, total_cpus: int = 2) -> PipelineRun:
    """``config`` written as ``root``/pipeline.yaml beside an ``app/`` with its requirements
    and a Dockerfile.test, loaded and planned; the Docker engine is made, never called.
    Again on the same ``root``: the new config replaces the old."""
    (root / "app").mkdir(exist_ok=True)
    (root / "app/requirements.txt").write_text("pytest\n")
    (root / "Dockerfile.test").write_text("FROM python:3.11-slim\n")
    (root / "pipeline.yaml").write_text(config)
    loaded = load_config(root / "pipeline.yaml", environ={})
    ctx = RunContext(run_id="t", redactor=Redactor())
    return PipelineRun(
        config=loaded,
        engine=DockerEngine(ctx),
        run_id="t",
        report_dir=root / "out",
        redactor=ctx.redactor,
        options=RunOptions(total_cpus=total_cpus),
        jobs=build_plan(loaded).jobs,
    )
