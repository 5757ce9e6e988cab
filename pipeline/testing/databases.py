"""The plugin's database side: its settings from the environment, URLs, and one admin
connection that creates, clones and drops databases (psycopg 3 or psycopg2,
whichever the project has).

Copied into the test container beside the plugin (as ``slipway_pytest_db``);
standard library, pytest and the driver only, like the plugin.
"""

from __future__ import annotations

import importlib
import json
import re
import time
import zlib
from collections.abc import Mapping, Sequence
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
SHAPE = "SLIPWAY_DB_SHAPE"

DEFAULT_NAME = "test"
DEFAULT_ENV = "DATABASE_URL"
TEMPLATE_SUFFIX = "_template"
MAIN_SUFFIX = "_main"
DJANGO_PREFIX = "test_"  # pytest-django's (Django's) test database: test_<NAME>
SHAPES = ("auto", "shared", "conftest_suffix", "django")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
WORKER_RE = re.compile(r"^gw[0-9]+$")
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
    shape: str = "auto"  # the per-worker shape pipeline.yaml configures (auto: read at run time)

    @property
    def template(self) -> str:
        return self.base_name + TEMPLATE_SUFFIX

    @property
    def main(self) -> str:
        return self.base_name + MAIN_SUFFIX

    def worker(self, worker_id: str) -> str:
        if not WORKER_RE.match(worker_id):
            raise pytest.UsageError(f"slipway: unexpected xdist worker id {worker_id!r}")
        return f"{self.base_name}_{worker_id}"

    def names(self, shape: str, worker_id: str | None) -> Names:
        """What this process creates and what the project's variables name, per shape."""
        if shape == "conftest_suffix":
            # The conftest appends the worker id itself: the variables name the base,
            # and each process gets the name it will derive from it.
            return Names(self.worker(worker_id) if worker_id else self.base_name, self.base_name)
        if shape == "django":
            # pytest-django makes test_<base> (test_<base>_gw<N> per worker) itself.
            return Names(None if worker_id else self.base_name, self.base_name)
        own = self.worker(worker_id) if worker_id else self.main
        return Names(own, own)


@dataclass(frozen=True, slots=True)
class Names:
    """The database a process creates (None: none) and the one its variables name."""

    creates: str | None
    points_at: str


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
        shape=_parse_shape(environ.get(SHAPE, "")),
    )


def _parse_shape(raw: str) -> str:
    shape = raw.strip() or "auto"
    if shape not in SHAPES:
        raise pytest.UsageError(f"slipway: {SHAPE}={shape!r} must be one of {', '.join(SHAPES)}")
    return shape


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
