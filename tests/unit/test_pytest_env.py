"""A pytest job's container environment: the stage's own settings are joined with
Slipway's, never put in their place (issue 13, finding 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.secrets import Redactor
from pipeline.plan import build_plan
from pipeline.stages.base import PipelineRun, RunOptions
from pipeline.stages.pytest import container

CONFIG = """\
project: {name: demo, root: app}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [app/requirements.txt]}
stages:
  - name: tests
    kind: pytest
    env: {PYTHONPATH: "src:lib", APP_MODE: test}
"""


@pytest.fixture
def run(tmp_path: Path) -> PipelineRun:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/requirements.txt").write_text("pytest\n")
    (tmp_path / "Dockerfile.test").write_text("FROM python:3.11-slim\n")
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "pipeline.yaml", environ={})
    plan = build_plan(config)
    ctx = RunContext(run_id="t", redactor=Redactor())
    return PipelineRun(config=config, engine=DockerEngine(ctx), run_id="t",
                       report_dir=tmp_path / "out", redactor=ctx.redactor,
                       options=RunOptions(total_cpus=2), jobs=plan.jobs)


def test_a_stage_pythonpath_is_joined_with_slipways(run: PipelineRun) -> None:
    ctx = run.for_job(run.jobs[0])
    env = dict(container.spec(ctx, image="img", select=[]).env)
    # The plugin directory first (else `-p slipway_pytest_plugin` cannot load), then the stage's.
    assert env["PYTHONPATH"].split(":") == [container.PLUGIN_DIR, "src", "lib"]
    assert env["APP_MODE"] == "test"
