"""A test job's failures in words (issue 13, findings 6 and 8): errors counted and named as
errors, one shared cause named once, an early stop said with its cause, and tests that
need the network named as such, from the JUnit file and plugin report of a real pytest run
with Slipway's plugin loaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.config import load_config
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.outcome import JobStatus
from pipeline.model.secrets import Redactor
from pipeline.plan import build_plan
from pipeline.reports.summary import render_summary
from pipeline.stages.base import JobContext, PipelineRun
from pipeline.stages.pytest import container
from pipeline.stages.pytest import results as outcomes

CONFIG = """\
project: {name: demo, root: app}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [app/requirements.txt]}
stages:
  - {name: unit, kind: pytest}
"""

SET_UP_FAULT = '''
import pytest

@pytest.fixture
def database():
    raise ConnectionError('FATAL: database "orders_gw0_gw0" does not exist')

@pytest.mark.parametrize("i", range(4))
def test_needs_database(database, i):
    pass
'''

MIXED = '''
import socket

import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_error(broken):
    pass

def test_failure():
    assert 1 == 2

def test_dns():
    socket.getaddrinfo("rates.slipway.invalid", 443)

def test_ok():
    pass
'''


def job(tmp_path: Path, body: str, *extra: str) -> tuple[JobContext, int]:
    """Run ``body`` as the job's tests with the plugin, its output where the job's artifacts go."""
    app = tmp_path / "app"
    (app / "tests").mkdir(parents=True)
    (app / "requirements.txt").write_text("pytest\n")
    (app / "tests/test_a.py").write_text(textwrap.dedent(body))
    (tmp_path / "Dockerfile.test").write_text("FROM python:3.11-slim\n")
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "pipeline.yaml", environ={})
    ctx = RunContext(run_id="t", redactor=Redactor())
    run = PipelineRun(config=config, engine=DockerEngine(ctx), run_id="t", report_dir=tmp_path / "report",
                      redactor=ctx.redactor, jobs=build_plan(config).jobs)
    job_ctx = run.for_job(run.jobs[0])
    out = job_ctx.artifacts_dir / "slipway/out"
    out.mkdir(parents=True)
    inject = tmp_path / "plugin"
    inject.mkdir()
    for mount in container.plugin_files():
        shutil.copy(mount.source, inject / Path(mount.dest).name)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "slipway_pytest_plugin", "-p", "no:cacheprovider",
         "tests", f"--junitxml={out}/junit.xml", "-o", "junit_family=xunit1", *extra],
        cwd=app, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(inject), "SLIPWAY_OUT_DIR": str(out),
             "SLIPWAY_EARLY_STOP": "3"},
    )
    return job_ctx, proc.returncode


def test_errors_are_named_as_errors_and_one_cause_once(tmp_path: Path) -> None:
    ctx, code = job(tmp_path, SET_UP_FAULT)
    outcome = outcomes.read_results(ctx, code, {})
    assert outcome.status is JobStatus.FAILED
    assert outcome.tests is not None and (outcome.tests.errors, outcome.tests.failed) == (3, 0)
    # The plugin stopped after three identical errors (SLIPWAY_EARLY_STOP=3) and said why.
    assert outcome.detail == (
        "stopped early: the first 3 tests all errored with the same cause: "
        'ConnectionError: FATAL: database "orders_gw0_gw0" does not exist (3 errors)'
    )
    assert "failed" not in outcome.detail.split("(")[-1]
    assert {f["outcome"] for f in outcome.data["failures"]} == {"error"}
    report = {"jobs": [{"name": "unit", "status": "failed", "duration_s": 1, "detail": outcome.detail,
                        **outcome.data}],
              "tests": outcome.tests.as_dict(),
              "failures": [{**f, "job": "unit"} for f in outcome.data["failures"]]}
    summary = render_summary(report)
    # Once, in the job's line: not again for each of the tests that stopped it.
    assert summary.count('database "orders_gw0_gw0" does not exist') == 1
    assert "## Tests: 3 errored" in summary and "(error) in unit" in summary
    assert "0 failed, 0 skipped, 3 errors" in summary


def test_failed_errored_and_offline_tests_each_named_for_what_they_are(tmp_path: Path) -> None:
    ctx, code = job(tmp_path, MIXED)
    outcome = outcomes.read_results(ctx, code, {})
    assert outcome.tests is not None
    assert (outcome.tests.passed, outcome.tests.failed, outcome.tests.errors) == (1, 2, 1)
    assert outcome.detail.startswith("2 failed, 1 error: ")
    assert "1 need the network, which this runner does not have" in outcome.detail
    [offline] = outcome.data["needs_network"]
    assert offline["test"] == "tests/test_a.py::test_dns"
    assert "socket.gaierror" in offline["cause"]
    by_test = {f["test"].rsplit("::", 1)[1]: f for f in outcome.data["failures"]}
    assert by_test["test_error"]["outcome"] == "error"
    assert by_test["test_error"]["cause"] == "RuntimeError: fixture exploded"
    assert by_test["test_failure"]["cause"].startswith("AssertionError: assert 1 == 2")
    summary = render_summary({"jobs": [{"name": "unit", "status": "failed", "duration_s": 1, **outcome.data}]})
    assert "## Tests that need the network" in summary and "test_dns" in summary


def test_a_shared_cause_without_an_early_stop_is_named_once(tmp_path: Path) -> None:
    # Two tests: fewer than the early-stop limit (3), both with one cause.
    ctx, code = job(tmp_path, SET_UP_FAULT.replace("range(4)", "range(2)"))
    assert "early_stop" not in json.loads((ctx.artifacts_dir / "slipway/out/slipway-plugin.json").read_text())
    outcome = outcomes.read_results(ctx, code, {})
    assert outcome.detail == (
        'all 2 errors with the same cause: ConnectionError: FATAL: database "orders_gw0_gw0" does not exist'
    )
