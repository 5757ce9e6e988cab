"""Slipway's pytest plugin: per-worker PostgreSQL databases, coverage contexts under
xdist, each failure's cause, and an early stop when every test fails the same way.

This file runs *inside the test container*, where Slipway itself is not
installed. It and its modules (``databases``, ``sessiondb``, ``shapes``,
``covcontext``, ``causes``) are therefore self-contained (standard library, pytest,
and whichever of psycopg 3 / psycopg2 the project already has). Slipway copies them
into the container as ``/slipway/slipway_pytest_plugin.py``, ``slipway_pytest_db.py``
and so on, and runs ``PYTHONPATH=/slipway:... pytest -p slipway_pytest_plugin ...``;
the target project's code and conftest are not changed.

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
    ``1`` keeps the databases at the end (to look at them after a failure). Slipway
    sets it: its server is the run's own service, removed with the run, and a drop
    after the last test only lengthens the job (DROP DATABASE is slow while another
    job writes to the same server).
``SLIPWAY_DB_SHAPE``
    How the project's conftest names its databases per worker (``shapes``):
    ``shared``, ``conftest_suffix``, ``django``, or ``auto`` (the default: read
    from the conftests and plugins at run time). Said in the job's log.
``SLIPWAY_EARLY_STOP``
    N > 0: stop the job when the first N tests to finish all fail or error with
    the same cause (``causes``). Default 0 (off); Slipway sets it (20 unless the
    stage says otherwise).
``SLIPWAY_OUT_DIR``
    Where the main process writes ``slipway-plugin.json`` (the shape, the coverage
    note, the early stop) for the job's report.

Databases, and when they exist:

- ``<name>_template``: created and migrated by the process that is not an xdist
  worker (the xdist controller, or the only process of a serial run), before any
  worker starts. Only when a migrate command is configured.
- ``shared`` shape: ``<name>_main``, the database of that non-worker process. In
  a serial run the tests use it; under xdist the controller runs no tests, but the
  project's conftest is imported there too and may read or even connect to the URL
  at import time, so it gets a private copy rather than the template (a connection
  to the template would block every clone). ``<name>_<worker id>`` (``gw0``,
  ``gw1``...): one per xdist worker, created by the worker itself, cloned from the
  template one worker at a time; the variables name it.
- ``conftest_suffix`` shape: the variables name ``<name>`` in every process, and
  the conftest appends the worker id itself: the main process gets ``<name>``, each
  worker ``<name>_<worker id>``, both cloned from the template.
- ``django`` shape: the variables name ``<name>`` (created empty or from the
  template); pytest-django creates and migrates ``test_<name>`` (``_gw<N>`` per
  worker) itself. Leftover ``test_<name>*`` databases are dropped first.

Everything is created before the project's conftest files are imported (in a
``pytest_load_initial_conftests`` wrapper, which runs before every plugin's own
implementation of that hook; ``pytest_configure`` would be too late, since the
root conftest is already imported by then). Databases left by a crashed earlier
run are dropped before they are created again. At the very end of the session
(a config cleanup, which runs after xdist has shut its workers down) the
non-worker process drops the template, its own and every ``<name>_gw<N>`` and
``test_<name>*`` database, terminating connections still open to them. The
migrate command runs with the project folder on ``PYTHONPATH``, as an editable
install would have it. ``pytest --collect-only``
sets the variables but creates nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    from . import causes, covcontext, sessiondb, shapes
    from .databases import Settings, load_settings, variables_for
except ImportError:  # copied into the test container as top-level modules, beside this file
    import slipway_pytest_causes as causes  # type: ignore[import-not-found,no-redef]
    import slipway_pytest_cov as covcontext  # type: ignore[import-not-found,no-redef]
    import slipway_pytest_sessiondb as sessiondb  # type: ignore[import-not-found,no-redef]
    import slipway_pytest_shapes as shapes  # type: ignore[import-not-found,no-redef]
    from slipway_pytest_db import (  # type: ignore[import-not-found,no-redef]
        Settings,
        load_settings,
        variables_for,
    )

PLUGIN_REPORT = "slipway-plugin.json"


@dataclass
class Run:
    """This process's part: what it set up and saw, for the log and the job's report."""

    worker_id: str | None
    settings: Settings | None = None
    database: sessiondb.State | None = None
    coverage: str | None = None
    early_stop: causes.EarlyStop = field(default_factory=lambda: causes.EarlyStop(0))
    stopped: dict[str, Any] | None = None
    session: pytest.Session | None = None


_RUN = pytest.StashKey[Run]()


def _early_stop_limit() -> int:
    raw = os.environ.get("SLIPWAY_EARLY_STOP", "").strip() or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        raise pytest.UsageError(f"slipway: SLIPWAY_EARLY_STOP={raw!r} must be a whole number") from None


def _shape(settings: Settings, config: pytest.Config) -> tuple[str, str]:
    """The per-worker shape: configured, or read from the project at run time."""
    if settings.shape != "auto":
        return settings.shape, "configured"
    ns = config.known_args_namespace
    django = config.pluginmanager.hasplugin("django") and bool(
        os.environ.get("DJANGO_SETTINGS_MODULE")
        or getattr(ns, "ds", None)
        or config.inicfg.get("DJANGO_SETTINGS_MODULE")
    )
    found = shapes.detect(config.rootpath, django=django)
    return found.name, found.why


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    # A wrapper's first half runs before every plain implementation, including
    # other plugins' tryfirst ones (pytest-django sets Django up in one, pytest-cov
    # starts coverage in one) and pytest's own, which imports the initial conftests.
    run = Run(worker_id=os.environ.get("PYTEST_XDIST_WORKER") or None)
    run.early_stop = causes.EarlyStop(_early_stop_limit())
    early_config.stash[_RUN] = run
    run.coverage = covcontext.translate(early_config.known_args_namespace)
    settings = load_settings(os.environ)
    if settings is not None:
        run.settings = settings
        collect_only = bool(getattr(early_config.known_args_namespace, "collectonly", False))
        if run.worker_id is None and not collect_only:
            # Registered before anything is created, so that a failing migrate
            # command still leaves no database behind.
            cleanup: Callable[[], None] = lambda: sessiondb.drop_all(settings)  # noqa: E731
            early_config.add_cleanup(cleanup)
        shape, why = _shape(settings, early_config)
        run.database = sessiondb.setup(
            settings,
            shape=shape,
            why=why,
            worker_id=run.worker_id,
            collect_only=collect_only,
            project_dir=Path(early_config.invocation_params.dir),
        )
        os.environ.update(variables_for(settings, run.database.database))
    yield


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(_RUN, None)
    if run is None:
        return None
    lines = []
    if run.database is not None and run.settings is not None and run.database.role != "collect":
        lines.append(sessiondb.header(run.settings, run.database))
    if run.coverage:
        lines.append(f"slipway: {run.coverage}")
    return lines or None


def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is not None:
        run.session = session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed or call.excinfo is None:
        return
    if any(name == causes.CAUSE for name, _ in item.user_properties):
        return  # a teardown error after a failure: the first cause is the test's
    # On the item, so that the teardown report (which JUnit's writer reads) has them too.
    found = causes.properties(call.excinfo.value)
    item.user_properties.extend(found)
    report.user_properties.extend(found)


def _outcome(report: pytest.TestReport) -> str | None:
    if report.failed:
        return "error" if report.when != "call" else "failed"
    if report.when == "call" and report.passed:
        return "passed"
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Serial runs and the xdist controller (which sees every worker's reports) decide.
    session_run = _current_run()
    if session_run is None or session_run.worker_id is not None or session_run.stopped is not None:
        return
    outcome = _outcome(report)
    if outcome is None:
        return
    cause = next((str(v) for k, v in report.user_properties if k == causes.CAUSE), None)
    stop = session_run.early_stop.record(report.nodeid, outcome, cause)
    if stop is not None:
        _stop(session_run, stop)


_CURRENT: list[Run] = []  # the Run of this process, for hooks that get no config


def _current_run() -> Run | None:
    return _CURRENT[-1] if _CURRENT else None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        _CURRENT.append(run)


def _stop(run: Run, stop: dict[str, Any]) -> None:
    run.stopped = stop
    word = "errored" if stop["outcome"] == "error" else "failed"
    reason = (
        f"slipway: stopped early: the first {stop['count']} tests all {word} with the same cause: "
        f"{stop['cause']}"
    )
    session = run.session
    if session is None:
        return
    dsession = session.config.pluginmanager.getplugin("dsession")
    if dsession is not None:
        dsession.shouldstop = reason  # xdist's controller: no new tests, workers shut down
    else:
        session.shouldstop = reason
    reporter = session.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(reason)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is None:
        return
    if run in _CURRENT:
        _CURRENT.remove(run)
    out = os.environ.get("SLIPWAY_OUT_DIR", "").strip()
    if run.worker_id is not None or not out:
        return
    report: dict[str, Any] = {}
    if run.database is not None:
        report["database"] = {
            "shape": run.database.shape,
            "why": run.database.why,
            "points_at": run.database.database,
        }
    if run.coverage:
        report["coverage"] = run.coverage
    if run.stopped is not None:
        report["early_stop"] = run.stopped
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / PLUGIN_REPORT).write_text(json.dumps(report, indent=2), encoding="utf-8")
    except OSError as exc:
        print(f"slipway: could not write {PLUGIN_REPORT}: {exc}")
