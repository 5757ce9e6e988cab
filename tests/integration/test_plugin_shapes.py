"""The plugin on the conftests people already have, against a real PostgreSQL server.

Each fixture project is written here, run in a subprocess with Slipway's plugin files
copied into a directory on PYTHONPATH and loaded with ``-p`` (as in a test container):
a conftest that appends the xdist worker id to its database name (issue 13, finding 1),
migrations that import the project without it being installed (finding 4), coverage
configured with ``dynamic_context = "test_function"`` under xdist (finding 5), a set-up
fault that makes every test error the same way, and a test that needs DNS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import coverage
import pytest
from pgserver import Server

from pipeline.stages.pytest.container import plugin_files

pytestmark = pytest.mark.integration


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    seen: dict[str, str]  # "<worker>-<i>" -> current_database() inside that test
    out: Path  # SLIPWAY_OUT_DIR: what the plugin writes for the job's report

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def run_pytest(project: Path, *args: str, server: Server | None = None, env: dict[str, str] | None = None) -> Run:
    inject = project.parent / "slipway"
    inject.mkdir(exist_ok=True)
    for mount in plugin_files():
        shutil.copy(mount.source, inject / Path(mount.dest).name)
    results = project.parent / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    out = project.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SLIPWAY_", "COV_"))}
    full_env.pop("DATABASE_URL", None)
    full_env.update(PYTHONPATH=str(inject), FIXTURE_RESULTS=str(results), SLIPWAY_OUT_DIR=str(out),
                    COVERAGE_FILE=str(out / ".coverage"))
    if server is not None:
        full_env.update(SLIPWAY_DB_ADMIN_URL=server.admin_url(), SLIPWAY_DB_NAME="proj")
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "slipway_pytest_plugin", "-p", "no:cacheprovider", *args],
        cwd=project, env=full_env, capture_output=True, text=True, timeout=240, check=False,
    )
    seen = {p.name: p.read_text() for p in results.iterdir()}
    return Run(proc, seen, out)


def leftovers(server: Server) -> set[str]:
    return {d for d in server.databases() if d.startswith("proj")}


# --- finding 1: a conftest that already appends the worker id ---

MIGRATE = '''
"""The project's migration: one table."""
import os
import psycopg

with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("CREATE TABLE items (id serial PRIMARY KEY, worker text NOT NULL)")
'''

ISOLATION_TESTS = '''
import os
import time

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.mark.parametrize("i", range(8))
def test_own_migrated_database(db, i):
    db.execute("INSERT INTO items (worker) VALUES (%s)", [WORKER])
    time.sleep(0.05)  # keep both workers busy at the same time
    assert {r[0] for r in db.execute("SELECT DISTINCT worker FROM items")} == {WORKER}
    name = db.execute("SELECT current_database()").fetchone()[0]
    with open(os.path.join(os.environ["FIXTURE_RESULTS"], f"{WORKER}-{i}"), "w") as out:
        out.write(name)
'''

SUFFIX_PROJECT = {
    "pytest.ini": "[pytest]\n",
    "migrate.py": MIGRATE,
    # The common recipe (and the shape of the 3,700-test project of the issue): the
    # worker id appended to DATABASE_URL's database name, at import time.
    "conftest.py": '''
        import os

        import psycopg
        import pytest


        def worker_database_url() -> str:
            base = os.environ["DATABASE_URL"]
            worker_id = os.environ.get("PYTEST_XDIST_WORKER")
            if not worker_id:
                return base
            return f"{base}_{worker_id}"


        os.environ["DATABASE_URL"] = worker_database_url()


        @pytest.fixture
        def db():
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                yield conn
    ''',
    "test_isolation.py": ISOLATION_TESTS,
}


def migrate_env() -> dict[str, str]:
    return {"SLIPWAY_DB_MIGRATE": json.dumps([sys.executable, "migrate.py"])}


def test_a_conftest_that_appends_the_worker_id_gets_exactly_the_names_it_asks_for(
    tmp_path: Path, server: Server
) -> None:
    project = write(tmp_path / "project", SUFFIX_PROJECT)
    run = run_pytest(project, "-n", "2", server=server, env=migrate_env())
    assert run.proc.returncode == 0, run.output
    # No proj_gw0_gw0: the conftest's own suffix is the worker's database.
    by_worker = {name.split("-")[0]: db for name, db in run.seen.items()}
    assert by_worker == {"gw0": "proj_gw0", "gw1": "proj_gw1"}
    assert "slipway: per-worker databases: conftest_suffix (conftest.py:" in run.proc.stdout
    assert not leftovers(server)


def test_a_serial_run_of_a_suffixing_conftest_uses_the_base_name(tmp_path: Path, server: Server) -> None:
    project = write(tmp_path / "project", SUFFIX_PROJECT)
    run = run_pytest(project, server=server, env=migrate_env())
    assert run.proc.returncode == 0, run.output
    assert set(run.seen.values()) == {"proj"}
    assert not leftovers(server)


def test_the_shape_can_be_forced_when_detection_cannot_see_it(tmp_path: Path, server: Server) -> None:
    # The suffix is made in a helper module the conftest imports: nothing in a conftest
    # says so, and only the configured shape (database.per_worker) tells the plugin.
    files = dict(SUFFIX_PROJECT)
    files["naming.py"] = files.pop("conftest.py").replace("import psycopg\n        import pytest\n", "")
    files["naming.py"] = files["naming.py"].split("@pytest.fixture")[0]
    files["conftest.py"] = '''
        import os

        import naming  # noqa: F401  (sets DATABASE_URL)
        import psycopg
        import pytest


        @pytest.fixture
        def db():
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                yield conn
    '''
    project = write(tmp_path / "project", files)
    run = run_pytest(project, "-n", "2", server=server,
                     env={**migrate_env(), "SLIPWAY_DB_SHAPE": "conftest_suffix"})
    assert run.proc.returncode == 0, run.output
    assert set(run.seen.values()) == {"proj_gw0", "proj_gw1"}
    assert "conftest_suffix (configured)" in run.proc.stdout


# --- finding 4: migrations import the project, which nothing installs ---


def test_migrations_run_with_the_project_importable(tmp_path: Path, server: Server) -> None:
    # Like alembic: the migrate command is a script outside the project (a console
    # script in the venv's bin/), so the project folder is not on its sys.path; the
    # project's CI installs the project editable, the test image does not.
    files = {
        "pytest.ini": "[pytest]\n",
        "app/__init__.py": 'TABLE = "CREATE TABLE items (id serial PRIMARY KEY, worker text NOT NULL)"\n',
        "conftest.py": '''
            import os

            import psycopg
            import pytest


            @pytest.fixture
            def db():
                with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                    yield conn
        ''',
        "test_isolation.py": ISOLATION_TESTS,
    }
    project = write(tmp_path / "project", files)
    tool = write(tmp_path / "venv-bin", {"migrate_tool.py": '''
        import os

        import psycopg

        import app  # the project's own package: importable only from the project folder

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(app.TABLE)
    '''})
    env = {"SLIPWAY_DB_MIGRATE": json.dumps([sys.executable, str(tool / "migrate_tool.py")])}
    run = run_pytest(project, "-n", "2", server=server, env=env)
    assert run.proc.returncode == 0, run.output
    assert set(run.seen.values()) == {"proj_gw0", "proj_gw1"}


# --- finding 5: dynamic_context = "test_function" under xdist ---

COVERAGE_PROJECT = {
    "pyproject.toml": '''
        [tool.pytest.ini_options]
        addopts = "-ra"

        [tool.coverage.run]
        source = ["calc"]
        branch = true
        dynamic_context = "test_function"
    ''',
    "calc.py": '''
        def add(a, b):
            return a + b


        def sub(a, b):
            return a - b
    ''',
    "test_calc.py": '''
        import calc


        def test_add():
            assert calc.add(1, 2) == 3


        def test_sub():
            assert calc.sub(3, 2) == 1
    ''',
}


def test_coverage_with_test_function_contexts_runs_under_xdist(tmp_path: Path) -> None:
    project = write(tmp_path / "project", COVERAGE_PROJECT)
    run = run_pytest(project, "-n", "2", "--cov", "--cov-report=")
    assert run.proc.returncode == 0, run.output
    assert "DistCovError" not in run.output
    # Said in the job's log, with what was done instead.
    assert "dynamic_context = test_function" in run.output and "--cov-context=test" in run.output
    data = coverage.CoverageData(basename=str(run.out / ".coverage"))
    data.read()
    contexts = data.measured_contexts()
    # Each test's lines under its own context, as test_function gives with `coverage run`.
    assert {"test_calc.py::test_add|run", "test_calc.py::test_sub|run"} <= contexts
    assert data.measured_files()


# --- a set-up fault: every test errors the same way ---


def test_a_systematic_set_up_fault_stops_the_job_early_and_names_its_cause(tmp_path: Path) -> None:
    project = write(tmp_path / "project", {
        "pytest.ini": "[pytest]\n",
        "conftest.py": '''
            import os

            import pytest


            @pytest.fixture
            def database():
                name = "orders_" + os.environ.get("PYTEST_XDIST_WORKER", "main") + "_gw1"
                raise ConnectionError(f'FATAL: database "{name}" does not exist')
        ''',
        "test_many.py": '''
            import pytest


            @pytest.mark.parametrize("i", range(200))
            def test_needs_the_database(database, i):
                pass
        ''',
    })
    run = run_pytest(project, "-n", "2", env={"SLIPWAY_EARLY_STOP": "10"})
    assert run.proc.returncode != 0
    stop = json.loads((run.out / "slipway-plugin.json").read_text())["early_stop"]
    assert stop["count"] == 10 and stop["outcome"] == "error"
    assert 'ConnectionError: FATAL: database "orders_gw' in stop["cause"]
    assert "stopped early" in run.proc.stdout
    errors = run.proc.stdout.count("ERROR test_many.py")
    assert 10 <= errors < 200, run.proc.stdout[-3000:]


def test_failures_with_different_causes_do_not_stop_the_job(tmp_path: Path) -> None:
    project = write(tmp_path / "project", {
        "pytest.ini": "[pytest]\n",
        "test_many.py": '''
            import pytest


            @pytest.mark.parametrize("i", range(30))
            def test_each_its_own(i):
                assert i < 0, f"case {chr(65 + i)} is wrong"
        ''',
    })
    run = run_pytest(project, env={"SLIPWAY_EARLY_STOP": "10"})
    assert "30 failed" in run.proc.stdout
    assert "early_stop" not in json.loads((run.out / "slipway-plugin.json").read_text())


# --- a test that needs the network, where there is none ---


def test_a_test_that_needs_dns_is_named_as_such(tmp_path: Path) -> None:
    project = write(tmp_path / "project", {
        "pytest.ini": "[pytest]\n",
        "test_remote.py": '''
            import socket


            def test_fetches_rates():
                socket.getaddrinfo("rates.slipway.invalid", 443)


            def test_local():
                assert 1 + 1 == 2
        ''',
    })
    run = run_pytest(project, "--junitxml", str(tmp_path / "junit.xml"), "-o", "junit_family=xunit1")
    assert "1 failed, 1 passed" in run.proc.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="slipway_network"' in junit
    assert "name resolution" in junit or "Name or service not known" in junit
