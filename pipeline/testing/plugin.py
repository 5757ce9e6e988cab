"""Slipway's pytest plugin: one PostgreSQL database per pytest-xdist worker.

This file runs *inside the test container*, where Slipway itself is not
installed. It is therefore one self-contained module (standard library, pytest,
and whichever of psycopg 3 / psycopg2 the project already has). Slipway copies
it into the container as ``/slipway/slipway_pytest_plugin.py`` and runs
``PYTHONPATH=/slipway pytest -p slipway_pytest_plugin ...``; the target
project's code and conftest are not changed.

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

import importlib
import json
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import pytest

ADMIN_URL = "SLIPWAY_DB_ADMIN_URL"
NAME = "SLIPWAY_DB_NAME"
MIGRATE = "SLIPWAY_DB_MIGRATE"
MIGRATE_CWD = "SLIPWAY_DB_MIGRATE_CWD"
ENV = "SLIPWAY_DB_ENV"
KEEP = "SLIPWAY_DB_KEEP"

DEFAULT_NAME = "test"
DEFAULT_ENV = "DATABASE_URL"
TEMPLATE_SUFFIX = "_template"
MAIN_SUFFIX = "_main"
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_WORKER_RE = re.compile(r"^gw[0-9]+$")
_FIELDS = ("url", "user", "password", "host", "port", "dbname")
_OBJECT_IN_USE = "55006"  # "database ... is being accessed by other users"
# How long to keep retrying a clone or drop that is blocked by connections to
# the source database (a worker of a previous session still shutting down, an
# app that connects at import time). Connections are terminated before each try.
_IN_USE_RETRIES = 20
_IN_USE_SLEEP = 0.25
_CONNECT_DEADLINE = 30.0  # the service may accept TCP before it accepts logins


@dataclass(frozen=True, slots=True)
class Settings:
    """The plugin's configuration, read from the environment."""

    admin_url: str
    base_name: str
    migrate: tuple[str, ...]
    migrate_cwd: str | None
    variables: Mapping[str, str]
    keep: bool

    @property
    def template(self) -> str:
        return self.base_name + TEMPLATE_SUFFIX

    @property
    def main(self) -> str:
        return self.base_name + MAIN_SUFFIX

    def worker(self, worker_id: str) -> str:
        if not _WORKER_RE.match(worker_id):
            raise pytest.UsageError(f"slipway: unexpected xdist worker id {worker_id!r}")
        return f"{self.base_name}_{worker_id}"


def load_settings(environ: Mapping[str, str]) -> Settings | None:
    """Read the settings, or None when the plugin is not asked to do anything."""
    admin_url = environ.get(ADMIN_URL, "").strip()
    if not admin_url:
        return None
    if urlsplit(admin_url).scheme not in ("postgresql", "postgres"):
        raise pytest.UsageError(
            f"slipway: {ADMIN_URL} must be a postgresql:// URL, got {redact(admin_url)!r}"
        )
    base = environ.get(NAME, "").strip() or DEFAULT_NAME
    if not _NAME_RE.match(base) or len(base) + len(TEMPLATE_SUFFIX) > _MAX_IDENTIFIER:
        raise pytest.UsageError(
            f"slipway: {NAME}={base!r} must be lower-case letters, digits and _, "
            f"at most {_MAX_IDENTIFIER - len(TEMPLATE_SUFFIX)} characters"
        )
    return Settings(
        admin_url=admin_url,
        base_name=base,
        migrate=_parse_migrate(environ.get(MIGRATE, "")),
        migrate_cwd=environ.get(MIGRATE_CWD) or None,
        variables=_parse_variables(environ.get(ENV, "")),
        keep=environ.get(KEEP, "").strip().lower() in ("1", "true", "yes"),
    )


def _parse_migrate(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        return ()
    try:
        argv = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise pytest.UsageError(
            f'slipway: {MIGRATE} must be a JSON list such as ["alembic", "upgrade", "head"]: {exc}'
        ) from exc
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise pytest.UsageError(f"slipway: {MIGRATE} must be a non-empty JSON list of strings")
    return tuple(argv)


def _parse_variables(raw: str) -> dict[str, str]:
    raw = raw.strip() or DEFAULT_ENV
    if not raw.startswith("{"):
        names = [n.strip() for n in raw.split(",") if n.strip()]
        return dict.fromkeys(names, "{url}")
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise pytest.UsageError(f"slipway: {ENV} is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise pytest.UsageError(f"slipway: {ENV} must map variable names to strings")
    sample = dict.fromkeys(_FIELDS, "x")
    for name, template in mapping.items():
        try:
            template.format_map(sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise pytest.UsageError(
                f"slipway: {ENV}[{name!r}] = {template!r}: unknown field {exc}; "
                f"use {', '.join('{' + f + '}' for f in _FIELDS)}"
            ) from exc
    return mapping


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def database_url(admin_url: str, dbname: str) -> str:
    """The admin URL pointing at another database (credentials and query kept)."""
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + dbname))


def fields(admin_url: str, dbname: str) -> dict[str, str]:
    """Values for the ``SLIPWAY_DB_ENV`` templates."""
    parts = urlsplit(admin_url)
    query = parse_qs(parts.query)
    # libpq also takes host and port as query parameters (unix sockets).
    host = parts.hostname or query.get("host", ["localhost"])[0]
    port = str(parts.port) if parts.port else query.get("port", ["5432"])[0]
    return {
        "url": database_url(admin_url, dbname),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "host": host,
        "port": port,
        "dbname": dbname,
    }


def variables_for(settings: Settings, dbname: str) -> dict[str, str]:
    """The environment variables that point the project at ``dbname``."""
    values = fields(settings.admin_url, dbname)
    return {name: template.format_map(values) for name, template in settings.variables.items()}


# --- the database driver: psycopg 3 or psycopg2, whichever the project has ---


class _Cursor(Protocol):
    def execute(self, query: str, params: Sequence[Any] | None = ...) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def close(self) -> None: ...


class _Connection(Protocol):
    def cursor(self) -> _Cursor: ...
    def close(self) -> None: ...


def _import_driver() -> tuple[str, Any]:
    # Imported lazily: a project without PostgreSQL never reaches this, and the
    # plugin must not need a driver just to be loaded.
    for name in ("psycopg", "psycopg2"):
        try:
            return name, importlib.import_module(name)
        except ImportError:
            continue
    raise pytest.UsageError(
        f"slipway: {ADMIN_URL} is set but neither psycopg (3) nor psycopg2 is installed "
        "in the test environment; add one to the project's test dependencies"
    )


def _connect(url: str) -> _Connection:
    name, driver = _import_driver()
    deadline = time.monotonic() + _CONNECT_DEADLINE
    while True:
        try:
            if name == "psycopg":
                conn: _Connection = driver.connect(url, autocommit=True, connect_timeout=10)
            else:
                conn = driver.connect(url, connect_timeout=10)
                conn.autocommit = True  # type: ignore[attr-defined]
            return conn
        except driver.OperationalError as exc:
            if time.monotonic() > deadline:
                raise pytest.UsageError(
                    f"slipway: cannot connect to {ADMIN_URL} {redact(url)}: {exc}"
                ) from exc
            time.sleep(0.5)


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Admin:
    """One autocommit connection with the rights to create and drop databases."""

    def __init__(self, url: str) -> None:
        self._conn = _connect(url)

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self._conn.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall() if getattr(cur, "description", None) else []
        finally:
            cur.close()

    def databases(self, like: str) -> list[str]:
        rows = self.query("SELECT datname FROM pg_database WHERE datname LIKE %s", [like])
        return sorted(str(r[0]) for r in rows)

    def terminate(self, dbname: str) -> None:
        self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        )

    def _retry_in_use(self, blocker: str, sql: str) -> None:
        for attempt in range(_IN_USE_RETRIES):
            self.terminate(blocker)
            try:
                self.query(sql)
                return
            except Exception as exc:
                if _sqlstate(exc) != _OBJECT_IN_USE or attempt == _IN_USE_RETRIES - 1:
                    raise
            time.sleep(_IN_USE_SLEEP)

    def drop(self, dbname: str) -> None:
        self._retry_in_use(dbname, f"DROP DATABASE IF EXISTS {_ident(dbname)}")

    def create(self, dbname: str, template: str | None = None) -> None:
        """Create ``dbname`` afresh (dropping a leftover), cloned from ``template``."""
        self.drop(dbname)
        if template is None:
            self.query(f"CREATE DATABASE {_ident(dbname)}")
            return
        # One clone at a time across all workers: PostgreSQL refuses to copy a
        # database while any other session is connected to it, and concurrent
        # clones would otherwise keep failing each other.
        key = zlib.crc32(f"slipway:{template}".encode())
        self.query("SELECT pg_advisory_lock(%s)", [key])
        try:
            self._retry_in_use(
                template, f"CREATE DATABASE {_ident(dbname)} TEMPLATE {_ident(template)}"
            )
        finally:
            self.query("SELECT pg_advisory_unlock(%s)", [key])


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
                if _WORKER_RE.match(d[len(settings.base_name) + 1 :])
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
