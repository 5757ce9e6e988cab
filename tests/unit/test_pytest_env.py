"""A pytest job's container environment: the stage's own settings are joined with
Slipway's, never put in their place (issue 13, finding 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.stages.base import PipelineRun
from pipeline.stages.pytest import container
from tests.unit.pipeline_runs import pipeline_run

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
    return pipeline_run(tmp_path, CONFIG)


def test_a_stage_pythonpath_is_joined_with_slipways(run: PipelineRun) -> None:
    ctx = run.for_job(run.jobs[0])
    env = dict(container.spec(ctx, image="img", select=[]).env)
    # The plugin directory first (else `-p slipway_pytest_plugin` cannot load), then the stage's.
    assert env["PYTHONPATH"].split(":") == [container.PLUGIN_DIR, "src", "lib"]
    assert env["APP_MODE"] == "test"


def test_slipways_own_plugin_settings_cannot_be_replaced_by_the_stage(tmp_path: Path) -> None:
    config = CONFIG.replace('APP_MODE: test}', 'APP_MODE: test, SLIPWAY_EARLY_STOP: "0"}')
    run = pipeline_run(tmp_path, config)
    env = dict(container.spec(run.for_job(run.jobs[0]), image="img", select=[]).env)
    assert env["SLIPWAY_EARLY_STOP"] == "20"  # the default; the stage's key is early_stop
    assert env["SLIPWAY_OUT_DIR"] == container.OUT_DIR


DB_CONFIG = """\
project: {name: demo, root: app}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [app/requirements.txt]}
services:
  db:
    image: postgres:17
    env: {POSTGRES_USER: shop, POSTGRES_PASSWORD: "p@ss:w/rd", POSTGRES_DB: shop}
    port: 5432
stages:
  - name: tests
    kind: pytest
    services: [db]
    early_stop: 5
    database: {service: db, name: shop, per_worker: conftest_suffix}
    coverage: {}
"""


def test_the_admin_connection_is_the_services_own_role(tmp_path: Path) -> None:
    # Finding 9: a compose file with POSTGRES_USER: shop got "password authentication
    # failed for user postgres" unless database.user/password were repeated by hand.
    run = pipeline_run(tmp_path, DB_CONFIG)
    env = dict(container.spec(run.for_job(run.jobs[0]), image="img", select=[]).env)
    assert env["SLIPWAY_DB_ADMIN_URL"] == "postgresql://shop:p%40ss%3Aw%2Frd@db:5432/postgres"
    assert env["SLIPWAY_DB_SHAPE"] == "conftest_suffix"
    assert env["SLIPWAY_EARLY_STOP"] == "5"
    given = DB_CONFIG.replace("per_worker: conftest_suffix", "user: admin, password: pw")
    env = dict(container.database_env(pipeline_run(tmp_path, given).for_job(run.jobs[0])))
    assert env["SLIPWAY_DB_ADMIN_URL"] == "postgresql://admin:pw@db:5432/postgres"
    assert env["SLIPWAY_DB_SHAPE"] == "auto"


def test_per_job_coverage_never_fails_on_the_projects_threshold(tmp_path: Path) -> None:
    run = pipeline_run(tmp_path, DB_CONFIG)
    args = container.pytest_args(run.for_job(run.jobs[0]), workers=2, select=[])
    assert "--cov" in args and args[-1] == "--cov-fail-under=0"


def test_the_copy_follows_dockerignore_and_the_stages_globs(tmp_path: Path) -> None:
    run = pipeline_run(tmp_path, DB_CONFIG.replace("early_stop: 5", "exclude: [docs]\n    early_stop: 5"))
    (tmp_path / "app/.dockerignore").write_text("# build context\n/data\n*.sqlite\n\n")
    mount = container.spec(run.for_job(run.jobs[0]), image="img", select=[]).directories[0]
    assert {"data", "*.sqlite", "docs", ".slipway"} <= set(mount.exclude)
    assert "**/.venv" in mount.exclude and mount.include == ()
