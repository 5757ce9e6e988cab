"""Slipway's pytest plugin: one PostgreSQL database per pytest-xdist worker.

This file runs *inside the test container*, where Slipway itself is not
installed. It and ``databases.py`` are therefore self-contained (standard
library, pytest, and whichever of psycopg 3 / psycopg2 the project already has).
Slipway copies them into the container as ``/slipway/slipway_pytest_plugin.py``
and ``/slipway/slipway_pytest_db.py`` and runs ``PYTHONPATH=/slipway pytest -p
slipway_pytest_plugin ...``; the target project's code and conftest are not changed.

Environment variables (the whole interface):

``SLIPWAY_DB_ADMIN_URL``
    ``postgresql://user:password@host:port/dbname`` of a role that may create
    and drop databases. Unset or empty: the plugin does nothing at all.
    Tests connect with the same role, to their own database.
``SLIPWAY_DB_NAME``
    Base name of the databases, default ``test``. Lower-case letters, digits
    and ``_``, at most 54 characters (``<name>_template`` must fit PostgreSQL's
    63). It must be unique among runs sharing one server at the same time.
``SLIPWAY_DB_MIGRATE``
    Optional. A command as a JSON argv list, e.g. ``["alembic", "upgrade",
    "head"]``. Run once per session, with the variables of ``SLIPWAY_DB_ENV``
    pointing at ``<name>_template``; every database is then cloned from it.
    Without it, every process gets an empty database of its own.
``SLIPWAY_DB_MIGRATE_CWD``
    Working directory of the migrate command; default: pytest's.
``SLIPWAY_DB_ENV``
    Which variables to set. Default ``DATABASE_URL``. Either a comma-separated
    list of names that all get the database's URL, or a JSON object mapping a
    name to a template with the fields ``{url}`` (the admin URL's scheme,
    credentials and query with this database), ``{user}``, ``{password}``,
    ``{host}``, ``{port}``, ``{dbname}``, e.g.
    ``{"POSTGRES_DB": "{dbname}", "POSTGRES_HOST": "{host}"}`` or
    ``{"DATABASE_URL": "postgresql+psycopg://{user}:{password}@{host}:{port}/{dbname}"}``.
``SLIPWAY_DB_KEEP``
    ``1`` keeps the databases at the end (to look at them after a failure).

Databases, and when they exist:

- ``<name>_template``: created and migrated by the process that is not an xdist
  worker (the xdist controller, or the only process of a serial run), before any
  worker starts. Only when a migrate command is configured.
- ``<name>_main``: the database of that non-worker process. In a serial run the
  tests use it; under xdist the controller runs no tests, but the project's
  conftest is imported there too and may read or even connect to the URL at
  import time, so it gets a private copy rather than the template (a connection
  to the template would block every clone).
- ``<name>_<worker id>`` (``gw0``, ``gw1``...): one per xdist worker, created by
  the worker itself, cloned from the template one worker at a time.

Everything is created before the project's conftest files are imported (in a
``pytest_load_initial_conftests`` wrapper, which runs before every plugin's own
implementation of that hook; ``pytest_configure`` would be too late, since the
root conftest is already imported by then). Databases left by a crashed earlier
run are dropped before they are created again. At the very end of the session
(a config cleanup, which runs after xdist has shut its workers down) the
non-worker process drops the template, its own and every ``<name>_gw<N>``
database, terminating connections still open to them. ``pytest --collect-only``
sets the variables but creates nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import pytest

try:
    from .databases import (
        WORKER_RE,
        Admin,
        Settings,
        load_settings,
        variables_for,
    )
except ImportError:  # copied into the test container as a top-level module, beside this file
    from slipway_pytest_db import (  # type: ignore[import-not-found,no-redef]
        WORKER_RE,
        Admin,
        Settings,
        load_settings,
        variables_for,
    )


# --- what each process does ---


@dataclass(frozen=True, slots=True)
class State:
    """What this process set up, for the report header and the cleanup."""

    role: str  # "worker", "main" or "collect"
    database: str
    migrated_s: float | None


_STATE = pytest.StashKey[State]()


def _migrate(settings: Settings) -> float:
    env = {**os.environ, **variables_for(settings, settings.template)}
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(settings.migrate),
            env=env,
            cwd=settings.migrate_cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise pytest.UsageError(
            f"slipway: cannot run the migrate command {list(settings.migrate)}: {exc}"
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise pytest.UsageError(
            f"slipway: the migrate command {list(settings.migrate)} exited "
            f"{proc.returncode} (database {settings.template}):\n{tail}"
        )
    return time.monotonic() - started


def _drop_all(settings: Settings) -> None:
    if settings.keep:
        return
    try:
        with Admin(settings.admin_url) as admin:
            workers = [
                d
                for d in admin.databases(settings.base_name + "\\_gw%")
                if WORKER_RE.match(d[len(settings.base_name) + 1 :])
            ]
            for dbname in [*workers, settings.main, settings.template]:
                admin.drop(dbname)
    except Exception as exc:
        # The run's result must not change because a cleanup failed: the next
        # run drops leftovers before it creates anything anyway.
        print(f"slipway: could not drop the test databases: {exc}", file=sys.stderr)


def setup(settings: Settings, *, worker_id: str | None, collect_only: bool) -> State:
    """Create this process's database (and the template) and return what was done."""
    if worker_id is not None:
        dbname = settings.worker(worker_id)
        with Admin(settings.admin_url) as admin:
            admin.create(dbname, settings.template if settings.migrate else None)
        return State("worker", dbname, None)
    if collect_only:
        return State("collect", settings.main, None)
    migrated_s = None
    with Admin(settings.admin_url) as admin:
        if settings.migrate:
            admin.create(settings.template)
            migrated_s = _migrate(settings)
            admin.create(settings.main, settings.template)
        else:
            admin.drop(settings.template)  # a leftover from a run that had one
            admin.create(settings.main)
    return State("main", settings.main, migrated_s)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    # A wrapper's first half runs before every plain implementation, including
    # other plugins' tryfirst ones (pytest-django sets Django up in one) and
    # pytest's own, which imports the initial conftest files.
    settings = load_settings(os.environ)
    if settings is not None:
        worker_id = os.environ.get("PYTEST_XDIST_WORKER") or None
        collect_only = bool(getattr(early_config.known_args_namespace, "collectonly", False))
        if worker_id is None and not collect_only:
            # Registered before anything is created, so that a failing migrate
            # command still leaves no database behind.
            cleanup: Callable[[], None] = lambda: _drop_all(settings)  # noqa: E731
            early_config.add_cleanup(cleanup)
        state = setup(settings, worker_id=worker_id, collect_only=collect_only)
        os.environ.update(variables_for(settings, state.database))
        early_config.stash[_STATE] = state
    yield


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(_STATE, None)
    if state is None or state.role == "collect":
        return None
    settings = load_settings(os.environ)
    assert settings is not None  # the state exists only when settings did
    if state.migrated_s is None:
        how = "empty databases"
    else:
        how = f"cloned from {settings.template}, migrated in {state.migrated_s:.2f}s"
    return f"slipway: database {state.database} ({how}); per worker {settings.base_name}_gw<N>"
