"""How the tests get their schema, and how the project's conftest names databases per worker.

Mode: ``django`` (pytest-django makes ``test_<name>`` and migrates it), ``alembic``
(migrations; whether ``alembic upgrade head`` can import the app without the
project being installed), ``create_all`` (SQLAlchemy ``metadata.create_all`` in a
fixture), or ``none``. Per-worker shape: ``django`` (pytest-django suffixes the test
database per xdist worker), ``conftest_suffix`` (a conftest derives its database
name from ``PYTEST_XDIST_WORKER`` / ``worker_id``), or ``shared`` (one database;
Slipway gives each worker its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.detect.context import Context
from pipeline.detect.dbnames import conftest_suffix, database_name, python_files, url_env, url_scheme
from pipeline.detect.dependencies import Dependencies
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.pysource import read_module
from pipeline.detect.repo import parent, relative
from pipeline.detect.services import Services
from pipeline.detect.tests_layout import TestsLayout

_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w.]*)\s+import|import\s+([A-Za-z_][\w.]*))", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Alembic:
    ini: str  # alembic.ini, relative to the project
    script_location: str  # relative to the project
    prepend_sys_path: Finding[str | None]  # the value, or None when the key is absent
    app_modules: tuple[str, ...]  # the project's own modules env.py imports
    importable: Finding[bool]  # can `alembic upgrade head` import them from a checkout, nothing installed
    needs_path: str | None  # the folder (relative to the project) that must be on sys.path, if not importable


@dataclass(frozen=True, slots=True)
class Database:
    mode: Finding[str]  # django | alembic | create_all | none
    migrate: Finding[tuple[str, ...]] | None  # argv run once into the template database
    migrate_cwd: str | None  # where to run it, relative to the project
    alembic: Alembic | None
    create_all: Finding[str] | None  # the fixture scope that creates the tables
    conftest_migrates: Finding[bool] | None  # the conftest migrates by itself
    per_worker: Finding[str]  # django | conftest_suffix | shared
    conftest_creates: Finding[bool] | None  # the conftest creates its per-worker database if missing
    reuse_db: Finding[bool] | None  # pytest-django's --reuse-db in addopts
    url_env: Finding[tuple[str, ...]]  # the variables the app reads its database from
    name: Finding[str] | None  # the database name the tests use
    url_scheme: Finding[str] | None  # the scheme (and driver) of the URL the project writes
    questions: tuple[Question, ...]


def _django(ctx: Context, tests: TestsLayout, deps: Dependencies) -> Source | None:
    if any(k.upper() == "DJANGO_SETTINGS_MODULE" for k in tests.settings) and tests.config is not None:
        line = ctx.repo.line_of(tests.config.path, r"DJANGO_SETTINGS_MODULE")
        return Source(tests.config.path, line)
    manage = ctx.path("manage.py")
    if ctx.repo.exists(manage):
        return ctx.repo.source(manage, r"DJANGO_SETTINGS_MODULE")
    return deps.has("pytest-django")


def _alembic(ctx: Context, deps: Dependencies) -> tuple[Alembic, Source] | None:
    inis = sorted(
        ctx.repo.named("alembic.ini", under=ctx.project, max_depth=3), key=lambda r: (r.count("/"), r)
    )
    if not inis:
        return None
    ini = inis[0]
    here = parent(ini)
    parser = ctx.repo.ini(ini)
    section = "alembic"
    location = "alembic"
    prepend: str | None = None
    if parser is not None and parser.has_section(section):
        location = parser.get(section, "script_location", fallback="alembic")
        prepend = parser.get(section, "prepend_sys_path", fallback=None)
    location = location.replace("%(here)s", ".").strip()
    script = ctx.repo.join(here, location)
    prepend_src = ctx.repo.source(ini, r"^\s*prepend_sys_path\s*=") if prepend is not None else Source(ini)
    prepend_finding: Finding[str | None] = detected(
        prepend,
        prepend_src,
        "prepend_sys_path" if prepend is not None else "alembic.ini has no prepend_sys_path",
    )
    env_rel = f"{script}/env.py"
    env_text = ctx.repo.text(env_rel) or ""
    modules: list[str] = []
    for m in _IMPORT.finditer(env_text):
        top = (m.group(1) or m.group(2)).split(".")[0]
        if top not in modules and _project_module(ctx, top) is not None:
            modules.append(top)
    # alembic puts prepend_sys_path entries (relative to the working directory,
    # which is where alembic.ini is) on sys.path; nothing else of the checkout is.
    paths = [p.strip().replace("%(here)s", ".") for p in re.split(r"[\s:]+", prepend or "") if p.strip()]
    reachable = [relative(ctx.repo.join(here, p), ctx.project) for p in paths]
    missing = [m for m in modules if _project_module(ctx, m) not in reachable]
    importable: Finding[bool]
    needs: str | None = None
    if not modules:
        importable = detected(True, Source(env_rel), "env.py imports nothing from the project")
    elif not missing:
        importable = detected(True, prepend_src, f"prepend_sys_path puts {', '.join(modules)} on sys.path")
    else:
        needs = _project_module(ctx, missing[0])
        line = ctx.repo.line_of(env_rel, r"^\s*(from|import)\s+" + re.escape(missing[0]) + r"\b")
        how = " (the CI installs the project)" if deps.editable.value else ""
        importable = detected(
            False,
            Source(env_rel, line),
            f"env.py imports {missing[0]}, reachable only when the project is installed{how} "
            f"or {needs} is on sys.path",
        )
    return (
        Alembic(
            relative(ini, ctx.project),
            relative(script, ctx.project),
            prepend_finding,
            tuple(modules),
            importable,
            needs,
        ),
        Source(ini),
    )


def _project_module(ctx: Context, name: str) -> str | None:
    """The folder (relative to the project) from which ``name`` imports, if it is the project's."""
    for folder in (".", "src"):
        base = ctx.path(folder)
        if ctx.repo.exists(ctx.repo.join(base, f"{name}/__init__.py")) or ctx.repo.exists(
            ctx.repo.join(base, f"{name}.py")
        ):
            return folder
        if ctx.repo.is_dir(ctx.repo.join(base, name)) and ctx.repo.glob(f"{name}/*.py", under=base):
            return folder  # a namespace package
    return None


def _migrate_from_ci(ctx: Context, tool: str) -> tuple[tuple[str, ...], str, Source] | None:
    for command in ctx.ci.commands():
        for argv in command.argvs():
            if tool == "alembic" and "alembic" in argv and "upgrade" in argv:
                start = argv.index("alembic")
                return argv[start:], relative(command.cwd, ctx.project), command.source
    return None


def detect_database(ctx: Context, deps: Dependencies, tests: TestsLayout, services: Services) -> Database:
    repo = ctx.repo
    questions: list[Question] = []
    conftests = {rel: repo.text(rel) or "" for rel in repo.named("conftest.py", under=ctx.project)}

    conftest_migrates: Finding[bool] | None = None
    for rel, text in conftests.items():
        # Calls only: a docstring that mentions `alembic upgrade head` migrates nothing.
        m = re.search(
            r"command\.upgrade\(|call_command\(\s*[\"']migrate|[\"']alembic[\"']\s*,\s*[\"']upgrade", text
        )
        if m:
            conftest_migrates = detected(
                True, Source(rel, text[: m.start()].count("\n") + 1), "the conftest migrates by itself"
            )
            break

    create_all: Finding[str] | None = None
    for rel in python_files(ctx, tests_only=True):
        text = repo.text(rel) or ""
        if ".create_all(" not in text:
            continue
        module = read_module(text)
        fixture = next((f for f in module.fixtures if ".create_all(" in f.body), None)
        line = text[: text.index(".create_all(")].count("\n") + 1
        if fixture is not None:
            create_all = detected(
                fixture.scope,
                Source(rel, line),
                f"fixture {fixture.name!r} ({fixture.scope} scope) calls create_all",
            )
        else:
            create_all = detected("module", Source(rel, line), "create_all at import time of a test module")
        break

    django = _django(ctx, tests, deps)
    alembic = _alembic(ctx, deps)
    migrate: Finding[tuple[str, ...]] | None = None
    migrate_cwd: str | None = None
    mode: Finding[str]
    if django is not None:
        mode = detected("django", django, "a Django project: pytest-django makes and migrates test_<name>")
    elif alembic is not None:
        info, ini_src = alembic
        mode = detected("alembic", ini_src, "alembic.ini")
        from_ci = _migrate_from_ci(ctx, "alembic")
        if from_ci is not None:
            migrate = detected(from_ci[0], from_ci[2], "the CI's migrate command")
            migrate_cwd = from_ci[1]
        else:
            why = "the conftest runs the migrations" if conftest_migrates else "the usual alembic command"
            migrate = guessed(("alembic", "upgrade", "head"), ini_src, why)
            migrate_cwd = parent(info.ini)
        if not info.importable.value:
            questions.append(
                Question(
                    "database",
                    f"alembic's env.py imports {', '.join(info.app_modules)} from the project folder "
                    f"({info.needs_path or '.'}), which alembic.ini does not put on sys.path: "
                    "run the migrations "
                    "with it on PYTHONPATH, or install the project in the test image",
                    (info.importable.source,) if info.importable.source else (),
                )
            )
    elif create_all is not None:
        mode = detected("create_all", create_all.source, create_all.why)
    else:
        sql = next(
            (
                (rel, m)
                for rel, text in conftests.items()
                for m in [re.search(r"[\w/.-]+\.sql\b", text)]
                if m is not None
            ),
            None,
        )
        if sql is not None:
            rel, m = sql
            line = (repo.text(rel) or "")[: m.start()].count("\n") + 1
            mode = detected(
                "none", Source(rel, line), f"no migration tool: the conftest loads {m.group(0)} itself"
            )
        else:
            mode = detected("none", None, "no migrations, Django or create_all found")
            if any(g.value.needs_database for g in tests.groups):
                questions.append(
                    Question(
                        "database", "tests use a database, but nothing creates its schema: how is it made?"
                    )
                )

    # The per-worker shape.
    per_worker: Finding[str]
    conftest_creates: Finding[bool] | None = None
    suffix = conftest_suffix(conftests)
    if django is not None:
        per_worker = detected(
            "django", django, "pytest-django creates test_<name> (with _gwN per xdist worker)"
        )
    elif suffix is not None:
        per_worker = detected(
            "conftest_suffix", suffix[0], f"the conftest derives a per-worker database name: {suffix[1]}"
        )
        creates = re.search(r"CREATE DATABASE|create_database\(", conftests[suffix[0].path])
        if creates:
            line = conftests[suffix[0].path][: creates.start()].count("\n") + 1
            conftest_creates = detected(
                True, Source(suffix[0].path, line), "the conftest creates its database when missing"
            )
        else:
            conftest_creates = detected(
                False, suffix[0], "the conftest expects its per-worker databases to exist"
            )
    else:
        per_worker = detected(
            "shared", None, "one database for the whole run (no per-worker naming in the conftests)"
        )

    reuse: Finding[bool] | None = None
    if django is not None:
        opts = tests.addopts.value if tests.addopts else ()
        src = tests.addopts.source if tests.addopts else None
        reuse = detected(
            "--reuse-db" in opts,
            src,
            "--reuse-db in addopts" if "--reuse-db" in opts else "no --reuse-db in addopts",
        )

    variables = url_env(ctx)
    name = database_name(ctx, services, django is not None)
    return Database(
        mode=mode,
        migrate=migrate,
        migrate_cwd=migrate_cwd,
        alembic=alembic[0] if alembic else None,
        create_all=create_all,
        conftest_migrates=conftest_migrates,
        per_worker=per_worker,
        conftest_creates=conftest_creates,
        reuse_db=reuse,
        url_env=variables,
        name=name,
        url_scheme=url_scheme(ctx),
        questions=tuple(questions),
    )
