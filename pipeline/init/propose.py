"""From a ``Detection`` to a ``Proposal``: the choices ``init`` makes, each with its note.

The rules, where detection leaves a choice:

- one pytest stage per detected test group (``tests-<group>``), in the project's folder;
  a group that needs the database gets the PostgreSQL service, the other services the
  CI defines beside it, and a ``database`` block;
- the database block takes the name the tests use, the migrate command when the
  project migrates with alembic (Django and ``create_all`` make their own schema), the
  per-worker shape of the conftest, and the variables the code reads its database from;
- coverage is on when the project configures coverage or its CI measures it, with its
  source and ``fail_under`` (checked once, on the combined report);
- a project its CI installs (editable) is not installed in the test image: its import
  roots (``src/``, a workspace's members) go on PYTHONPATH instead;
- what Slipway needs in the test image that the project does not declare
  (pytest-xdist, pytest-cov, a PostgreSQL driver for the plugin) is added to it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pipeline.detect import Detection, Finding, Service
from pipeline.init.dockerfile import MARK
from pipeline.init.proposal import (
    BuildStage,
    Chosen,
    CoveragePlan,
    DatabasePlan,
    FrontendStage,
    Proposal,
    ServicePlan,
    TestImage,
    TestStage,
    chosen,
    note_of,
    project_name,
    slug,
)

# Slipway's own PostgreSQL base when nothing says which major the project runs.
DEFAULT_POSTGRES = "15"
DEFAULT_NODE = "20"
_PG_DRIVERS = ("psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary")
# Questions of detection that Slipway answers by itself, and how.
_ANSWERS = (
    (
        "database",
        "alembic's env.py imports",
        "Slipway runs the migrate command with the project folder on PYTHONPATH",
    ),
    (
        "coverage",
        "dynamic_context = test_function with pytest-cov",
        "Slipway records the same per-test contexts with pytest-cov's --cov-context=test",
    ),
)


def _toml(root: Path, rel: str) -> dict[str, Any]:
    try:
        return tomllib.loads((root / rel).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _join(project: str, rel: str) -> str:
    return rel if project in ("", ".") else f"{project}/{rel}"


def test_image(d: Detection, coverage: bool, needs_db: bool) -> TestImage:
    deps = d.dependencies
    root = Path(d.root)
    keys = [chosen(f) for f in deps.files]
    pyproject = _join(d.project.value, "pyproject.toml")
    if not any(k.value == pyproject for k in keys) and (root / pyproject).is_file():
        data = _toml(root, pyproject)
        if data.get("project", {}).get("dependencies") or data.get("project", {}).get(
            "optional-dependencies"
        ):
            keys.append(Chosen(pyproject, f"detected at {pyproject}: [project] declares the dependencies"))
    extra = []
    if deps.has("pytest") is None:
        extra.append("pytest>=8")
    if deps.has("pytest-xdist") is None:
        extra.append("pytest-xdist>=3.6")
    if coverage and deps.has("pytest-cov") is None:
        extra.append("pytest-cov>=5")
    if needs_db and deps.has(*_PG_DRIVERS) is None:
        extra.append("psycopg[binary]>=3.1")  # the plugin's admin connection
    existing = d.images.test_dockerfile
    return TestImage(
        dockerfile=existing.value if existing is not None else "Dockerfile.test",
        existing=existing is not None,
        python=chosen(d.python.version),
        manager=chosen(deps.manager),
        install=chosen(deps.install),
        key_files=tuple(keys),
        extra_packages=tuple(extra),
        groups=deps.test_groups.value if deps.test_groups else (),
        workspace=bool(deps.workspace_members),
        project_dir=d.project.value,
    )


def service_plan(found: Finding[Service]) -> ServicePlan:
    svc = found.value
    name = re.sub(r"[^a-z0-9-]+", "-", svc.name.lower()).strip("-") or svc.kind
    image: Chosen[str]
    if svc.kind == "postgres" and not found.detected:
        image = Chosen(
            f"postgres:{DEFAULT_POSTGRES}",
            f"guessed: {found.why}; the major version is a question below",
            detected=False,
        )
    else:
        image = Chosen(svc.image, note_of(found), found.detected)
    readiness = None
    if svc.kind == "postgres":
        readiness = ("pg_isready", "-h", "127.0.0.1", "-U", svc.user or "postgres")
    return ServicePlan(name, image, dict(svc.env), svc.port, readiness)


_FIELDS = (
    (re.compile(r"(URL|URI|DSN)$"), "{url}"),
    (re.compile(r"(HOST|SERVER)$"), "{host}"),
    (re.compile(r"PORT$"), "{port}"),
    (re.compile(r"(USER|USERNAME)$"), "{user}"),
    (re.compile(r"(PASSWORD|PASS|PASSWD)$"), "{password}"),
    (re.compile(r"(NAME|DB|DATABASE)$"), "{dbname}"),
)


def database_env(d: Detection, questions: list[str]) -> Chosen[dict[str, str]] | None:
    """The variables the code reads its database from, each as a plugin template."""
    names = d.database.url_env.value
    scheme = d.database.url_scheme.value if d.database.url_scheme else "postgresql"
    plain = scheme in ("postgresql", "postgres")
    if names == ("DATABASE_URL",) and plain:
        return None  # Slipway's default
    mapping: dict[str, str] = {}
    for name in names:
        field = next((f for rx, f in _FIELDS if rx.search(name)), None)
        if field is None:
            questions.append(f"database: the code reads {name}: which part of the database does it hold?")
            continue
        if field == "{url}" and not plain:
            field = f"{scheme}://{{user}}:{{password}}@{{host}}:{{port}}/{{dbname}}"
        mapping[name] = field
    why = note_of(d.database.url_env)
    if not plain and d.database.url_scheme is not None:
        why += f"; URLs as {scheme}:// ({note_of(d.database.url_scheme)})"
    return Chosen(mapping, why, d.database.url_env.detected) if mapping else None


def database_plan(d: Detection, service: str, questions: list[str]) -> DatabasePlan:
    db = d.database
    name = (
        Chosen(
            re.sub(r"[^a-z0-9_]+", "_", db.name.value.lower()).strip("_") or "test",
            note_of(db.name),
            db.name.detected,
        )
        if db.name is not None
        else Chosen("test", "guessed: nothing names the tests' database", detected=False)
    )
    notes = [f"schema: {db.mode.value} ({note_of(db.mode)})"]
    migrate = None
    if db.mode.value == "alembic" and db.migrate is not None:
        migrate = chosen(db.migrate)
    elif db.mode.value == "django":
        notes.append("pytest-django creates and migrates test_<name> itself: no migrate command")
    elif db.mode.value == "create_all":
        notes.append("the tests create their tables themselves (create_all): no migrate command")
    if db.conftest_migrates is not None and db.conftest_migrates.value and migrate is not None:
        notes.append(
            f"the conftest migrates too ({db.conftest_migrates.source}): Slipway migrates a template once "
            "and clones it per worker, so the conftest finds its schema in place"
        )
    cwd = db.migrate_cwd if db.migrate_cwd not in (None, "", ".") else None
    return DatabasePlan(
        service=service,
        name=name,
        migrate=migrate,
        migrate_cwd=cwd,
        per_worker=chosen(db.per_worker),
        env=database_env(d, questions),
        notes=tuple(notes),
    )


def import_roots(d: Detection) -> Chosen[tuple[str, ...]] | None:
    """Folders (relative to the project) the project imports from once installed."""
    if not d.dependencies.editable.value:
        return None
    root = Path(d.root) / d.project.value
    members = d.dependencies.workspace_members
    folders = list(members) if members else ["."]
    roots = []
    for folder in folders:
        src = f"{folder}/src" if folder != "." else "src"
        if any((root / src).glob("*/__init__.py")) or (members and (root / src).is_dir()):
            roots.append(src)
        elif members:
            roots.append(folder)
    if not roots:
        return None
    why = note_of(d.dependencies.editable)
    return Chosen(tuple(roots), f"the project is not installed in the test image ({why}); its import roots")


def coverage_plan(d: Detection) -> CoveragePlan | None:
    cov = d.coverage
    if cov.config is None and cov.runner is None:
        return None
    parts = []
    if cov.config is not None:
        parts.append(f"configured in {cov.config}")
    if cov.runner is not None:
        parts.append(f"the CI runs {cov.runner.value} ({cov.runner.source})")
    if cov.dynamic_context is not None:
        parts.append(
            f"dynamic_context = {cov.dynamic_context.value} ({cov.dynamic_context.source}): recorded with "
            "--cov-context=test under xdist"
        )
    source = cov.source.value if cov.source is not None else ()
    threshold = cov.fail_under.value if cov.fail_under is not None else None
    if threshold is not None:
        parts.append(
            f"fail_under {threshold:g} ({cov.fail_under.source if cov.fail_under else ''}), "
            "checked on the combined report"
        )
    return CoveragePlan(tuple(source), threshold, "detected: " + "; ".join(parts))


def test_stages(d: Detection, services: list[ServicePlan], questions: list[str]) -> tuple[TestStage, ...]:
    groups = d.tests.groups
    pg = next(
        (s for s, f in zip(services, d.services.chosen, strict=True) if f.value.kind == "postgres"), None
    )
    others = tuple(
        s.name for s, f in zip(services, d.services.chosen, strict=True) if f.value.kind != "postgres"
    )
    database = database_plan(d, pg.name, questions) if pg is not None else None
    out = []
    for found in groups:
        group = found.value
        name = "tests" if len(groups) == 1 else f"tests-{slug(group.name, 'group')}"
        needs = group.needs_database and database is not None
        out.append(
            TestStage(
                name=name,
                note=note_of(found),
                paths=group.paths,
                markers=group.markers,
                services=((database.service,) if database and needs else ()) + (others if needs else ()),
                database=database if needs else None,
                database_note=f"it needs the database: {group.database_reason}" if needs else None,
            )
        )
    if others and not any(s.database for s in out):
        questions.append(f"services: {', '.join(others)}: which test groups need them? None was given them")
    elif others:
        questions.append(
            f"services: {', '.join(others)} were given to the groups that use the database: right?"
        )
    return tuple(out)


def frontends(d: Detection, questions: list[str]) -> tuple[FrontendStage, ...]:
    out = []
    for f in d.frontends:
        name = "frontend" if len(d.frontends) == 1 else f"frontend-{slug(f.path, 'web')}"
        if f.node is not None:
            image = Chosen(f"node:{f.node.value}-slim", note_of(f.node, "Node"), f.node.detected)
        else:
            image = Chosen(f"node:{DEFAULT_NODE}-slim", "guessed: nothing names a Node version", False)
            questions.append(f"frontend {f.path}: which Node version? node:{DEFAULT_NODE} was guessed")
        scripts = ", ".join(s.value for s in f.scripts)
        note = f"{note_of(f.package_manager, 'package manager')}; scripts: {scripts}"
        out.append(FrontendStage(name, f.path, image, f.commands, note))
    return tuple(out)


def builds(d: Detection) -> tuple[BuildStage, ...]:
    if d.images.bake_file is None:
        return ()
    names = d.images.bake_default or tuple(t.value.name for t in d.images.bake_targets)
    by_name = {t.value.name: t for t in d.images.bake_targets}
    return tuple(
        BuildStage(
            f"build-{slug(n, 'image')}", n, note_of(by_name[n]) if n in by_name else "the default group"
        )
        for n in names
    )


def _open_questions(d: Detection) -> tuple[list[str], list[str]]:
    open_, answered = [], []
    for q in d.questions:
        answer = next(
            (a for topic, start, a in _ANSWERS if q.topic == topic and q.text.startswith(start)), None
        )
        if answer is None:
            open_.append(str(q))
        else:
            answered.append(f"{q}: {answer}")
    return open_, answered


def _written_by_init(path: Path) -> bool:
    """A Dockerfile.test of init's own installs what the plugin needs: no question to ask."""
    try:
        return MARK in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def propose(d: Detection) -> Proposal:
    """What init writes for the repository ``d`` describes."""
    questions, answered = _open_questions(d)
    services = [service_plan(s) for s in d.services.chosen]
    stages = test_stages(d, services, questions)
    cov = coverage_plan(d)
    image = test_image(d, cov is not None, any(s.database for s in stages))
    if image.existing and not _written_by_init(Path(d.root) / image.dockerfile):
        questions.append(
            f"images: {image.dockerfile} is used as it is: it must install pytest-xdist"
            + (" and pytest-cov" if cov else "")
            + " (Slipway's plugin needs nothing else)"
        )
    used = {name for s in stages for name in s.services}
    return Proposal(
        root=d.root,
        project_name=project_name(d, _toml(Path(d.root), _join(d.project.value, "pyproject.toml"))),
        workdir=chosen(d.project),
        image=image,
        services=tuple(s for s in services if s.name in used),
        tests=stages,
        coverage=cov,
        pythonpath=import_roots(d),
        frontends=frontends(d, questions),
        bake_file=d.images.bake_file.value if d.images.bake_file else None,
        builds=builds(d),
        questions=tuple(dict.fromkeys(questions)),
        answered=tuple(answered),
    )
