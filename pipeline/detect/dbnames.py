"""Where the project's database comes from: the variables its code reads, the name its
tests use, the URL scheme (driver) it writes, and whether a conftest derives a
per-worker database name from the xdist worker id."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipeline.conftestscan import DB_TERMS, code_lines, enclosing_def, mentions, worker_names
from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Source, detected, guessed
from pipeline.detect.services import Services, default_database_url, url_parts

_BUILDS_STRING = re.compile(r"\bf[\"']|\+|\.format\(|%\s*\(|\.join\(")
_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|env\.str|env\(|config\()\s*\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)
_DB_ENV = re.compile(
    r"^(DATABASE_URL|[A-Z_]*DATABASE[A-Z_]*|DB_[A-Z_]+|[A-Z_]+_DB_URL|SQLALCHEMY_DATABASE_URI|POSTGRES_[A-Z_]+|PG(HOST|PORT|USER|PASSWORD|DATABASE))$"
)


def python_files(ctx: Context, *, tests_only: bool) -> list[str]:
    files = ctx.repo.glob("*.py", "**/*.py", under=ctx.project)
    if tests_only:
        files = [f for f in files if re.search(r"(^|/)(conftest\.py|tests?/|test_[^/]*\.py$)", f)]
    return files


def conftest_suffix(conftests: dict[str, str]) -> tuple[Source, str] | None:
    """The line where a conftest builds a database name from the xdist worker id.

    Follows the worker id through assignments (``worker = os.environ["PYTEST_XDIST_WORKER"]``,
    then ``suffix = f"_{worker}"``) to a line that also names a database; a worker id
    used for anything else (a log label, an application name) does not count.
    """
    for rel, text in conftests.items():
        lines = code_lines(text)
        tracked = worker_names(lines)
        for number, line in enumerate(lines, 1):
            if mentions(line, tracked) and DB_TERMS.search(line):
                return Source(rel, number), line.strip()
        # A name built from the worker id inside a function about databases (def db_url(worker_id)).
        for number, line in enumerate(lines, 1):
            if (
                mentions(line, tracked)
                and _BUILDS_STRING.search(line)
                and DB_TERMS.search(enclosing_def(lines, number - 1))
            ):
                return Source(rel, number), line.strip()
    return None


def url_env(ctx: Context) -> Finding[tuple[str, ...]]:
    names: list[str] = []
    first: Source | None = None
    for rel in python_files(ctx, tests_only=False):
        text = ctx.repo.text(rel) or ""
        for m in _ENV_READ.finditer(text):
            name = m.group(1)
            if _DB_ENV.match(name) and name not in names:
                names.append(name)
                if first is None:
                    first = Source(rel, text[: m.start()].count("\n") + 1)
    if names:
        # DATABASE_URL first: the one Slipway sets per worker.
        names.sort(key=lambda n: n != "DATABASE_URL")
        return detected(tuple(names), first, "environment variables the code reads its database from")
    return guessed(("DATABASE_URL",), None, "the code reads no database variable Slipway recognises")


def database_name(ctx: Context, services: Services, django: bool) -> Finding[str] | None:
    for job in ctx.ci.jobs:
        envs = [job.env, *(c.env for c in job.commands)]
        for env in envs:
            url = env.get("DATABASE_URL")
            if url and url_parts(url).get("database"):
                return detected(
                    url_parts(url)["database"], job.source, f"DATABASE_URL of {job.system} job {job.name!r}"
                )
            if env.get("DB_NAME"):
                return detected(env["DB_NAME"], job.source, f"DB_NAME of {job.system} job {job.name!r}")
    pg = services.postgres
    if pg is not None and pg.detected and "POSTGRES_DB" in pg.value.env:
        return detected(pg.value.env["POSTGRES_DB"], pg.source, f"POSTGRES_DB of service {pg.value.name!r}")
    default = default_database_url(ctx)
    if default is not None and url_parts(default[0]).get("database"):
        return guessed(url_parts(default[0])["database"], default[1], "the default database URL in the code")
    if pg is not None and pg.detected and pg.value.database:
        return detected(pg.value.database, pg.source, "the database the postgres image creates")
    return None


def url_scheme(ctx: Context) -> Finding[str] | None:
    """The scheme of the database URL the project writes (``postgresql+psycopg``): a driver
    the URLs Slipway hands out must name too."""
    for job in ctx.ci.jobs:
        for env in [job.env, *(c.env for c in job.commands)]:
            url = env.get("DATABASE_URL")
            if url and "://" in url:
                why = f"DATABASE_URL of {job.system} job {job.name!r}"
                return detected(urlsplit(url).scheme, job.source, why)
    default = default_database_url(ctx)
    if default is not None:
        return guessed(urlsplit(default[0]).scheme, default[1], "the default database URL in the code")
    return None
