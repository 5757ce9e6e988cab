"""Which test files need the database: a fixture that reaches it (directly or through other
fixtures, read from the conftests), a database marker, or an autouse database fixture above."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.detect.context import Context
from pipeline.detect.pysource import Function, Module, read_module
from pipeline.detect.pytest_config import PytestConfig, as_list
from pipeline.detect.repo import parent, under

DB_MARKS = frozenset({"django_db", "db", "database", "postgres", "pg"})
# pytest-django's fixtures that give database access.
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_setup",
        "django_db_blocker",
        "live_server",
        "admin_client",
        "admin_user",
        "django_db_reset_sequences",
    }
)
_DB_TERMS = re.compile(
    r"create_engine|get_engine|\bengine\b|sessionmaker|\bSession\(|\.connect\(|psycopg|asyncpg|DATABASE_URL|"
    r"create_all|drop_all|alembic|django_db_blocker|\bdb_session\b|CREATE DATABASE"
)


@dataclass(frozen=True, slots=True)
class TestFile:
    path: str  # relative to the root
    module: Module
    db_line: int | None  # a line that makes it need the database


def test_files(ctx: Context, cfg: PytestConfig) -> list[str]:
    patterns = as_list(cfg.values.get("python_files")) or ["test_*.py", "*_test.py"]
    out = []
    for rel in ctx.repo.glob("*.py", "**/*.py", under=ctx.project):
        base = rel.rsplit("/", 1)[-1]
        if base == "conftest.py" or not any(fnmatch.fnmatchcase(base, p) for p in patterns):
            continue
        if "/migrations/" in f"/{rel}" or "/site-packages/" in rel:
            continue
        out.append(rel)
    return out


def read_conftests(ctx: Context) -> dict[str, Module]:
    out = {}
    for rel in ctx.repo.named("conftest.py", under=ctx.project):
        out[rel] = read_module(ctx.repo.text(rel) or "")
    return out


def database_fixtures(conftests: dict[str, Module], extra: Sequence[Module] = ()) -> dict[str, Function]:
    """Fixtures that reach the database, directly or through other fixtures (by name)."""
    fixtures: dict[str, Function] = {}
    for module in [*conftests.values(), *extra]:
        for f in module.fixtures:
            fixtures.setdefault(f.name, f)
    db = {name: f for name, f in fixtures.items() if _DB_TERMS.search(f.body)}
    changed = True
    while changed:
        changed = False
        for name, f in fixtures.items():
            if name not in db and any(p in db or p in DB_FIXTURES for p in (*f.params, *f.usefixtures)):
                db[name] = f
                changed = True
    return db


def needs_db(
    rel: str,
    module: Module,
    conftests: dict[str, Module],
    db_fixtures: dict[str, Function],
    db_marks: frozenset[str],
) -> int | None:
    if set(module.module_marks) & db_marks:
        return module.marks_line or 1
    local = database_fixtures({}, [module])
    known = {**db_fixtures, **local}
    for test in module.tests:
        if set(test.marks) & db_marks:
            return test.line
        if any(p in known or p in DB_FIXTURES for p in (*test.params, *test.usefixtures)):
            return test.line
    # An autouse fixture that touches the database, in this module or a conftest above it.
    for f in module.fixtures:
        if f.autouse and f.name in known:
            return f.line
    for conf, cmod in conftests.items():
        if under(parent(rel), parent(conf)):
            for f in cmod.fixtures:
                if f.autouse and f.name in db_fixtures and module.tests:
                    return module.tests[0].line
    return None
