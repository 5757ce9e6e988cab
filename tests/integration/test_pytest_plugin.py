"""The per-worker database plugin against a real PostgreSQL server.

The fixture project (tests/fixtures/dbproject) is run in a subprocess with the
plugin copied into a directory on PYTHONPATH and loaded with ``-p``, exactly as
Slipway injects it into a test container.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pgserver import Server

from pipeline.stages.pytest.container import plugin_files

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "tests" / "fixtures" / "dbproject"


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    seen: dict[str, str]  # test file -> current_database() inside that test
    migrations: list[str]  # one line per run of the migrate command


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(PROJECT, dest)
    return dest


def run_project(
    project: Path,
    server: Server,
    *pytest_args: str,
    migrate: bool = True,
    env: dict[str, str] | None = None,
) -> Run:
    # Mirrors the injection: a directory holding only the plugin's files, on PYTHONPATH.
    inject = project.parent / "slipway"
    inject.mkdir(exist_ok=True)
    for mount in plugin_files():
        shutil.copy(mount.source, inject / Path(mount.dest).name)
    results = project.parent / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    log = project.parent / "migrate.log"
    log.unlink(missing_ok=True)
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SLIPWAY_"))
    }
    full_env.update(
        PYTHONPATH=str(inject),
        SLIPWAY_DB_ADMIN_URL=server.admin_url(),
        SLIPWAY_DB_NAME="proj",
        FIXTURE_RESULTS=str(results),
        FIXTURE_MIGRATE_LOG=str(log),
        FIXTURE_EXPECT_MIGRATED="1" if migrate else "0",
    )
    full_env.pop("DATABASE_URL", None)
    if migrate:
        full_env["SLIPWAY_DB_MIGRATE"] = json.dumps([sys.executable, "migrate.py"])
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "slipway_pytest_plugin", *pytest_args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seen = {p.name: p.read_text() for p in results.iterdir()}
    migrations = log.read_text().splitlines() if log.exists() else []
    return Run(proc, seen, migrations)


def _ok(run: Run) -> None:
    assert run.proc.returncode == 0, run.proc.stdout + run.proc.stderr


def test_each_worker_gets_its_own_migrated_database(project: Path, server: Server) -> None:
    run = run_project(project, server, "-n", "2", "-W", "error")
    _ok(run)
    assert "9 passed" in run.proc.stdout
    assert "database proj_main; per worker proj_gw<N> (cloned from proj_template" in run.proc.stdout
    assert run.migrations == ["proj_template"]
    by_worker = {name.split("-")[0]: db for name, db in run.seen.items()}
    assert by_worker == {"gw0": "proj_gw0", "gw1": "proj_gw1"}
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_without_migrate_command_workers_get_empty_databases(
    project: Path, server: Server
) -> None:
    run = run_project(project, server, "-n", "2", migrate=False)
    _ok(run)
    assert run.migrations == []
    assert set(run.seen.values()) == {"proj_gw0", "proj_gw1"}
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_serial_run_uses_the_main_database(project: Path, server: Server) -> None:
    run = run_project(project, server)
    _ok(run)
    assert run.migrations == ["proj_template"]
    assert set(run.seen.values()) == {"proj_main"}
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_leftovers_of_a_crashed_run_are_replaced(project: Path, server: Server) -> None:
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        for name in ("proj_template", "proj_gw0", "proj_gw7", "proj_main"):
            conn.execute(f'CREATE DATABASE "{name}"')
    # A connection left open to the old template, as a crashed run might leave.
    stray = psycopg.connect(server.admin_url().replace("/postgres", "/proj_template"))
    try:
        run = run_project(project, server, "-n", "2")
    finally:
        stray.close()
    _ok(run)
    assert set(run.seen.values()) == {"proj_gw0", "proj_gw1"}
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_separate_variables_mode(project: Path, server: Server) -> None:
    mapping = {
        "POSTGRES_HOST": "{host}",
        "POSTGRES_PORT": "{port}",
        "POSTGRES_USER": "{user}",
        "POSTGRES_PASSWORD": "{password}",
        "POSTGRES_DB": "{dbname}",
        # The migrate command still wants a URL: both can be set at once.
        "DATABASE_URL": "{url}",
    }
    env = {"SLIPWAY_DB_ENV": json.dumps(mapping), "FIXTURE_SEPARATE_VARIABLES": "1"}
    run = run_project(project, server, "-n", "2", env=env)
    _ok(run)
    assert run.migrations == ["proj_template"]
    assert set(run.seen.values()) == {"proj_gw0", "proj_gw1"}


def test_failing_migration_is_a_usage_error_and_leaves_nothing(
    project: Path, server: Server
) -> None:
    env = {"SLIPWAY_DB_MIGRATE": json.dumps([sys.executable, "-c", "raise SystemExit(3)"])}
    run = run_project(project, server, "-n", "2", env=env)
    assert run.proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "exited 3" in run.proc.stderr
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_collect_only_creates_nothing(project: Path, server: Server) -> None:
    # The pytest stage collects once for the shards: that must stay cheap.
    run = run_project(project, server, "--collect-only", "-q")
    _ok(run)
    assert "9 tests collected" in run.proc.stdout
    assert run.migrations == []
    assert not {d for d in server.databases() if d.startswith("proj")}


def test_without_admin_url_the_plugin_does_nothing(project: Path, server: Server) -> None:
    run = run_project(
        project, server, "--collect-only", "-q", env={"SLIPWAY_DB_ADMIN_URL": "",
                                                      "DATABASE_URL": "postgresql:///x"}
    )
    _ok(run)
    assert not {d for d in server.databases() if d.startswith("proj")}
