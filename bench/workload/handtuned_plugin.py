"""Per-worker PostgreSQL databases for pytest-xdist, the way a team writes them by hand.

The workload's conftest uses the one database of ``DATABASE_URL``; under ``pytest -n``
its workers would drop each other's tables. This plugin, passed with
``-p handtuned_plugin`` (its folder on ``PYTHONPATH``), gives each worker a database
of its own before the conftest is imported:

- the xdist controller (or a serial run) creates ``<name>_template`` and migrates it
  once with the project's own command;
- each worker clones ``<name>_<worker id>`` from the template (one clone at a time:
  PostgreSQL refuses to copy a template another session is using) and points
  ``DATABASE_URL`` at it.

Environment: ``HANDTUNED_ADMIN_URL`` (``postgresql://user:password@host:port/postgres``,
a role that may create databases; unset: the plugin does nothing), ``HANDTUNED_DB``
(the base name, default ``test``), ``HANDTUNED_MIGRATE`` (a JSON argv list run with
``DATABASE_URL`` on the template, default ``["python", "-m", "app.migrate"]``).
Standard library, pytest and psycopg 3 only: it runs inside the test image.
"""

from __future__ import annotations

import json
import os
import subprocess
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

CLONE_LOCK = 724_242  # an advisory lock key: one CREATE DATABASE ... TEMPLATE at a time


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    admin = os.environ.get("HANDTUNED_ADMIN_URL")
    if not admin:
        return
    base = os.environ.get("HANDTUNED_DB", "test")
    template = f"{base}_template"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        # The controller: runs no tests under xdist, and migrates the template once.
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {_quote(template)} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {_quote(template)}")
        migrate = json.loads(os.environ.get("HANDTUNED_MIGRATE", '["python", "-m", "app.migrate"]'))
        subprocess.run(
            migrate, env={**os.environ, "DATABASE_URL": _with_database(admin, template)}, check=True
        )
        name = f"{base}_main"
    else:
        name = f"{base}_{worker}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (CLONE_LOCK,))
        try:
            conn.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (CLONE_LOCK,))
    os.environ["DATABASE_URL"] = _with_database(admin, name)
