"""The pytest stage's side of test impact analysis: the record goes to the durable store
and comes back as the next run's baseline (copied in, outside the job-result key), a
full run where the config asks for one, and report data saying what was left out.
The engine here is a recording fake that exports what the in-container plugin would
(the plugin itself runs for real in test_impact_mutants.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cache.local import LocalStore
from pipeline.config import load_config
from pipeline.engines.base import RunResult
from pipeline.model.outcome import JobStatus
from pipeline.model.secrets import Redactor
from pipeline.model.spec import ContainerSpec
from pipeline.plan import build_plan
from pipeline.stages.base import PipelineRun, RunOptions
from pipeline.stages.pytest import impact, stage

CONFIG = """\
project: {name: demo}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [requirements.txt]}
stages:
  - name: unit
    kind: pytest
    paths: [tests]
    impact: {full_on: [main], ignore: ["docs/*"]}
"""
JUNIT = ('<testsuites><testsuite name="pytest" tests="1"><testcase classname="tests.test_a" '
         'name="test_one" file="tests/test_a.py" time="0.1"/></testsuite></testsuites>')


class _PluginEngine:
    """Records each spec; exports JUnit and the impact plugin's files as the container would."""

    name = "fake"

    def __init__(self, deselected: int, exit_code: int = 0) -> None:
        self.ran: list[ContainerSpec] = []
        self.deselected = deselected
        self.exit_code = exit_code

    async def image_digest(self, ref: str) -> str | None:
        return "sha256:" + "1" * 64

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        pass  # no service in this config

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        self.ran.append(spec)
        out = output_dir / "slipway/out"
        (out / "impact").mkdir(parents=True, exist_ok=True)
        (out / "junit.xml").write_text(JUNIT if self.exit_code == 0 else "<testsuites/>")
        (out / "impact/record.json").write_text(json.dumps({"tests": {"tests/test_a.py::test_one": {}},
                                                             "run": len(self.ran)}))
        summary = {"deselected": self.deselected, "reasons": {"changed: app/a.py": {"tests": 1}}}
        (out / "impact/selection.json").write_text(json.dumps({"deselect": [], "summary": summary}))
        return RunResult(exit_code=self.exit_code, log_path=log_path, duration_s=0.0)


def _run(tmp_path: Path, engine: _PluginEngine, branch: str = "feature") -> PipelineRun:
    (tmp_path / "requirements.txt").write_text("pytest\n")
    (tmp_path / "Dockerfile.test").write_text("FROM python:3.11-slim\n")
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "pipeline.yaml", environ={"BRANCH": branch})
    return PipelineRun(config=config, engine=engine, run_id="t", report_dir=tmp_path / "out",  # type: ignore[arg-type]
                       redactor=Redactor(), options=RunOptions(total_cpus=2), jobs=build_plan(config).jobs,
                       store=LocalStore(tmp_path / "store"))


@pytest.mark.anyio
async def test_the_record_round_trips_through_the_store_as_the_next_baseline(tmp_path: Path) -> None:
    engine = _PluginEngine(deselected=4)
    run = _run(tmp_path, engine)
    ctx = run.for_job(run.jobs[0])
    first = await stage.run(ctx)
    assert first.data["impact"]["full_run"] == "no stored record: every test runs"
    env = dict(engine.ran[0].env)
    assert "SLIPWAY_IMPACT_BASELINE" not in env and env["SLIPWAY_IMPACT_DIR"] == impact.IMPACT_OUT
    assert json.loads(env["SLIPWAY_IMPACT_IGNORE"]) == ["docs/*"]
    assert "slipway_pytest_impact" in engine.ran[0].commands[-1]
    assert {f.dest for f in engine.ran[0].files} >= {"/slipway/slipway_pytest_impactdata.py",
                                                        "/slipway/slipway_pytest_codemap.py"}
    # A fresh runner: nothing local, the store has the record.
    (tmp_path / ".slipway").rename(tmp_path / "gone")
    second = await stage.run(ctx)
    spec = engine.ran[1]
    assert dict(spec.env)["SLIPWAY_IMPACT_BASELINE"] == impact.BASELINE_DEST
    (mount,) = [f for f in spec.files if f.dest == impact.BASELINE_DEST]
    assert json.loads(mount.source.read_text())["run"] == 1  # the first run's record
    assert second.data["impact"]["full_run"] is None and second.data["impact"]["deselected"] == 4
    assert "4 left out by impact analysis" in second.detail
    assert stage.cache_specs(ctx) == stage.cache_specs(ctx)  # the key never sees the baseline
    assert all(f.dest != impact.BASELINE_DEST for s in stage.cache_specs(ctx) for f in s.files)


@pytest.mark.anyio
async def test_the_default_branch_runs_everything(tmp_path: Path) -> None:
    engine = _PluginEngine(deselected=0)
    run = _run(tmp_path, engine, branch="main")
    ctx = run.for_job(run.jobs[0])
    await stage.run(ctx)
    outcome = await stage.run(ctx)
    assert "SLIPWAY_IMPACT_BASELINE" not in dict(engine.ran[1].env)
    assert outcome.data["impact"]["full_run"] == "branch main is in impact.full_on"


@pytest.mark.anyio
async def test_every_test_left_out_is_a_success_not_no_tests_collected(tmp_path: Path) -> None:
    run = _run(tmp_path, _PluginEngine(deselected=0))
    ctx = run.for_job(run.jobs[0])
    await stage.run(ctx)
    run2 = _run(tmp_path, _PluginEngine(deselected=7, exit_code=5))
    outcome = await stage.run(run2.for_job(run2.jobs[0]))
    assert outcome.status is JobStatus.SUCCESS and "7 left out" in outcome.detail
    run3 = _run(tmp_path, _PluginEngine(deselected=0, exit_code=5))
    assert (await stage.run(run3.for_job(run3.jobs[0]))).status is JobStatus.FAILED


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
