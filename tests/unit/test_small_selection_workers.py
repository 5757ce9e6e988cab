"""A job that runs few tests runs them in-process: xdist workers each pay an interpreter,
the app's import and a database clone before their first test, more than a handful of
tests saves. A shard's tests are counted on the host; an impact selection in the
container, where the plugin answers xdist's ``-n auto`` once it has judged the record."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.secrets import Redactor
from pipeline.plan import build_plan
from pipeline.stages.base import JobContext, PipelineRun, RunOptions
from pipeline.stages.pytest import collect, container, stage
from pipeline.stages.pytest.impact import PLUGIN_MODULES
from pipeline.testing.workers import TESTS_PER_WORKER, explain, scaled_workers

TESTING = Path(__file__).resolve().parents[2] / "pipeline" / "testing"


@pytest.mark.parametrize(
    ("cap", "tests", "expected"),
    [
        (2, 0, 0),
        (2, 3, 0),  # the bench's one-module change: 3 of 60 tests
        (2, 2 * TESTS_PER_WORKER - 1, 0),
        (2, 2 * TESTS_PER_WORKER, 2),
        (4, 3 * TESTS_PER_WORKER, 3),  # one per TESTS_PER_WORKER ...
        (4, 10_000, 4),  # ... never more than the budget
        (1, 5, 1),  # a budget of one is not raised or lowered
    ],
)
def test_workers_scale_with_the_tests_selected(cap: int, tests: int, expected: int) -> None:
    assert scaled_workers(cap, tests) == expected


def test_the_choice_is_said_with_its_figures() -> None:
    line = explain(2, 3, "impact selection")
    assert line.startswith("xdist: -n 0") and "3 tests" in line and "budget's 2" in line
    assert explain(2, 500, "this shard") == "xdist: -n 2 (this shard: 500 tests, the budget's 2 workers)"
    assert "(this shard: 1 test," in explain(2, 1, "this shard")
    assert explain(4, 150, "this shard").startswith("xdist: -n 3, not the budget's 4")


CONFIG = """\
project: {name: demo, root: app}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [app/requirements.txt]}
stages:
  - {name: unit, kind: pytest, paths: [tests/unit], impact: {full_on: [main]}}
  - {name: db, kind: pytest, paths: [tests/db], shards: 2}
  - {name: fixed, kind: pytest, paths: [tests/fixed], workers: 3, impact: {}}
"""


@pytest.fixture
def run(tmp_path: Path) -> PipelineRun:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/requirements.txt").write_text("pytest\n")
    (tmp_path / "Dockerfile.test").write_text("FROM python:3.11-slim\n")
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "pipeline.yaml", environ={})
    ctx = RunContext(run_id="t", redactor=Redactor())
    return PipelineRun(config=config, engine=DockerEngine(ctx), run_id="t", report_dir=tmp_path / "out",
                       redactor=ctx.redactor, options=RunOptions(total_cpus=8), jobs=build_plan(config).jobs)


def job_ctx(run: PipelineRun, name: str) -> JobContext:
    return run.for_job(next(j for j in run.jobs if j.name == name))


def argv(spec: object) -> list[str]:
    return list(spec.commands[-1])  # type: ignore[attr-defined]


def test_a_shard_with_few_tests_runs_in_process_and_says_so(run: PipelineRun) -> None:
    ctx = job_ctx(run, "db-1of2")
    cap = container.budget(ctx)[0]
    assert cap >= 2
    few = argv(container.spec(ctx, image="img", select=["@x"], tests=7))
    assert few[few.index("-n") + 1] == "0" and "--dist" not in few
    chosen = container.workers(ctx, tests=7)
    assert chosen.count == 0 and chosen.choice.startswith("xdist: -n 0") and "7 tests" in chosen.choice
    many = argv(container.spec(ctx, image="img", select=["@x"], tests=10_000))
    assert many[many.index("-n") + 1] == str(cap) and "--dist" in many


def test_an_impact_run_lets_the_plugin_choose_under_the_budgets_cap(run: PipelineRun, tmp_path: Path) -> None:
    ctx = job_ctx(run, "unit")
    cap = container.budget(ctx)[0]
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{}")
    spec = container.spec(ctx, image="img", select=["tests/unit"], baseline=baseline)
    args = argv(spec)
    assert args[args.index("-n") + 1] == "auto" and args[args.index("--maxprocesses") + 1] == str(cap)
    assert dict(spec.env)[container.CAP_VARIABLE] == str(cap)
    # A full run (no baseline) keeps the budget's number, and the job-result key never
    # sees the choice: it is the same spec with or without a stored record.
    full = argv(container.spec(ctx, image="img", select=["tests/unit"]))
    assert full[full.index("-n") + 1] == str(cap) and container.CAP_VARIABLE not in dict(
        container.spec(ctx, image="img", select=["tests/unit"]).env
    )
    assert "auto" not in argv(stage.cache_specs(ctx)[0])


def test_a_stage_that_fixes_its_workers_keeps_them(run: PipelineRun, tmp_path: Path) -> None:
    ctx = job_ctx(run, "fixed")
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{}")
    args = argv(container.spec(ctx, image="img", select=["tests/fixed"], baseline=baseline, tests=1))
    assert args[args.index("-n") + 1] == "3"


# --------------------------------------------------------------- in the container, for real

PROJECT = {
    "app/__init__.py": "",
    "app/calc.py": """
        def double(x):
            return 2 * x

        def triple(x):
            return 3 * x
    """,
    "tests/test_double.py": """
        import pytest

        from app.calc import double

        @pytest.mark.parametrize("x", range(120))
        def test_double(x):
            assert double(x) == x + x
    """,
    "tests/test_triple.py": """
        from app.calc import triple

        def test_one():
            assert triple(1) == 3

        def test_two():
            assert triple(2) == 6

        def test_three():
            assert triple(3) == 9
    """,
}


def _pytest(root: Path, out: Path, *, cap: int | None = None, baseline: Path | None = None) -> str:
    plugins = root.parent / "plugins"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLIPWAY_", "PYTEST_XDIST"))}
    env |= {"PYTHONPATH": f"{plugins}{os.pathsep}{root}", "PYTHONDONTWRITEBYTECODE": "1",
            "SLIPWAY_IMPACT_DIR": str(out)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-p", "slipway_pytest_impact"]
    if cap is not None:
        env["SLIPWAY_WORKERS_CAP"] = str(cap)
        argv += ["-n", "auto", "--maxprocesses", str(cap), "--dist", "worksteal"]
    if baseline is not None:
        env["SLIPWAY_IMPACT_BASELINE"] = str(baseline)
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for source, module in PLUGIN_MODULES.items():
        shutil.copy(TESTING / source, plugins / f"{module}.py")
    root = tmp_path / "proj"
    for rel, text in PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    return root


def _summary(out: Path) -> dict[str, object]:
    summary = json.loads((out / "selection.json").read_text())["summary"]
    assert isinstance(summary, dict)
    return summary


def test_the_plugin_runs_a_small_selection_in_process_and_a_large_one_on_workers(project: Path) -> None:
    record = project.parent / "record"
    _pytest(project, record)  # the full run leaves the record
    baseline = project.parent / "baseline.json"
    shutil.copy(record / "record.json", baseline)

    calc = project / "app/calc.py"
    calc.write_text(calc.read_text().replace("return 3 * x", "return x * 3"))  # 3 tests reach it
    small = project.parent / "small"
    output = _pytest(project, small, cap=2, baseline=baseline)
    summary = _summary(small)
    assert summary["expected_tests"] == 3 and summary["workers"] == 0, summary
    assert "slipway: xdist: -n 0" in output and "3 passed" in output
    assert "bringing up nodes" not in output  # xdist started no worker

    calc.write_text(calc.read_text().replace("return 2 * x", "return x * 2"))  # and 120 more
    large = project.parent / "large"
    output = _pytest(project, large, cap=2, baseline=baseline)
    summary = _summary(large)
    assert summary["expected_tests"] == 123 and summary["workers"] == 2, summary
    assert "bringing up nodes" in output and "123 passed" in output


def test_collecting_for_shards_leaves_the_impact_plugin_out(run: PipelineRun) -> None:
    # The collecting container gets Slipway's plugins but not the impact plugin's files:
    # with impact on and shards, its -p failed collection ("No module named
    # 'slipway_pytest_impact'") and every shard with it.
    args = container.pytest_args(job_ctx(run, "unit"), workers=2, select=["tests/unit"])
    assert "slipway_pytest_impact" in args
    kept = collect.without_impact(collect.collect_args(args))
    assert "slipway_pytest_impact" not in kept
    assert kept.count("-p") == args.count("-p") - 1 and "slipway_pytest_plugin" in kept
