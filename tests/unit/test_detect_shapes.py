"""Detection on the fixture projects (tests/projects): each shape's findings, where they came from, and the questions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.detect import Detection, Source, detect
from tests.fixture_projects import load_shapes


@pytest.fixture(scope="module")
def detected_shape(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Detection]:
    root = tmp_path_factory.mktemp("shapes")
    shapes = load_shapes()
    cache: dict[str, Detection] = {}

    def get(shape: str) -> Detection:
        if shape not in cache:
            cache[shape] = detect(shapes.write(shape, root / shape))
        return cache[shape]

    return get


def groups(d: Detection) -> dict[str, tuple[tuple[str, ...], str | None, bool, str | None]]:
    """name -> (paths, markers, needs_database, workers)."""
    return {
        g.value.name: (g.value.paths, g.value.markers, g.value.needs_database, g.value.workers)
        for g in d.tests.groups
    }


def test_shared_db(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("shared_db")
    assert d.project.value == "."
    assert d.python.version.value == "3.11"
    assert d.python.version.source == Source(".github/workflows/ci.yml", 28)
    assert d.dependencies.manager.value == "pip"
    assert d.dependencies.install.value == (("pip", "install", "-r", "requirements-dev.txt"),)
    assert d.dependencies.install.detected
    assert not d.dependencies.editable.value
    assert [f.value for f in d.dependencies.files] == ["requirements-dev.txt", "requirements.txt"]
    # The CI runs the whole suite at once: the declared, used marker splits it, as a guess.
    assert groups(d) == {"db": ((), "db", True, "auto"), "not-db": ((), "not db", False, "auto")}
    assert all(g.certainty == "guessed" for g in d.tests.groups)
    assert d.tests.xdist.value and d.tests.xdist.source == Source(".github/workflows/ci.yml", 35)
    assert [m.value for m in d.tests.markers] == ["db"]
    pg = d.services.postgres
    assert pg is not None and pg.detected
    assert (pg.value.image, pg.value.version, pg.value.user, pg.value.password, pg.value.database) == (
        "postgres:15",
        "15",
        "shop",
        "shop",
        "shop",
    )
    # The CI's service and the compose file's: both found, the CI's chosen.
    assert {(s.value.origin, s.value.name) for s in d.services.found} == {
        ("github", "postgres"),
        ("compose", "db"),
    }
    assert pg.value.origin == "github"
    assert d.database.mode.value == "alembic"
    assert d.database.migrate is not None and d.database.migrate.value == ("alembic", "upgrade", "head")
    assert d.database.migrate.source == Source(".github/workflows/ci.yml", 33)
    assert d.database.alembic is not None
    assert d.database.alembic.prepend_sys_path.value == "."
    assert d.database.alembic.importable.value
    assert d.database.alembic.app_modules == ("app",)
    assert d.database.per_worker.value == "shared"
    assert d.database.name is not None and d.database.name.value == "shop"
    assert d.database.url_env.value == ("DATABASE_URL",)
    assert d.coverage.source is None and d.coverage.runner is None
    assert d.frontends == ()
    assert [df.value.path for df in d.images.dockerfiles] == ["Dockerfile"]
    assert d.questions == ()


def test_worker_suffix(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("worker_suffix")
    assert d.python.version.value == "3.11"
    assert d.python.requires is not None and d.python.requires.value == "^3.11"
    assert d.dependencies.manager.value == "poetry"
    assert d.dependencies.manager.source == Source("poetry.lock")
    # As the CI does it: poetry into the system interpreter, then poetry install.
    assert d.dependencies.install.value == (
        ("pip", "install", "poetry"),
        ("poetry", "install", "--no-interaction"),
    )
    assert d.dependencies.editable.value
    assert d.dependencies.test_groups is not None and d.dependencies.test_groups.value == ("dev",)
    assert groups(d) == {
        "unit": (("tests/unit",), None, False, None),
        "integration": (("tests/integration",), None, True, "4"),
    }
    assert all(g.detected for g in d.tests.groups)
    assert d.tests.runner.value == ("poetry", "run", "pytest")
    assert d.database.per_worker.value == "conftest_suffix"
    assert d.database.per_worker.source == Source("tests/conftest.py", 27)
    assert "{worker_id}" in d.database.per_worker.why
    assert d.database.conftest_creates is not None and d.database.conftest_creates.value
    assert d.database.conftest_migrates is not None and d.database.conftest_migrates.value
    assert d.database.mode.value == "alembic"
    assert d.database.migrate is not None and not d.database.migrate.detected
    # The base name the conftest suffixes: the CI's DATABASE_URL.
    assert d.database.name is not None and d.database.name.value == "orders_test"
    pg = d.services.postgres
    assert pg is not None
    assert (pg.value.version, pg.value.user, pg.value.password, pg.value.database) == (
        "17",
        "postgres",
        "postgres",
        "orders_test",
    )
    assert d.questions == ()


def test_django(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("django")
    assert d.python.version.value == "3.13"
    assert d.python.version.source == Source(".gitlab-ci.yml", 20)
    assert d.dependencies.install.value == (("pip", "install", "-r", "requirements/test.txt"),)
    assert d.database.mode.value == "django"
    assert d.database.mode.source == Source("pytest.ini", 2)
    assert d.database.per_worker.value == "django"
    assert d.database.migrate is None
    assert d.database.reuse_db is not None and d.database.reuse_db.value
    assert d.database.reuse_db.source == Source("pytest.ini", 4)
    assert d.database.name is not None and d.database.name.value == "library"
    assert d.database.url_env.value[:2] == ("DATABASE_URL", "DB_NAME")
    assert "DB_HOST" in d.database.url_env.value
    assert groups(d) == {"tests": (("catalog",), None, True, "2")}
    assert d.tests.settings["django_settings_module"] == "library.settings"
    pg = d.services.postgres
    assert pg is not None and pg.value.origin == "gitlab"
    assert (pg.value.name, pg.value.image, pg.value.user, pg.value.database) == (
        "postgres",
        "postgres:15",
        "library",
        "library",
    )
    # GitLab hands every variable to services; only the image's own are kept.
    assert "DB_HOST" not in pg.value.env
    assert d.questions == ()


def test_create_all(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("create_all")
    assert d.python.version.value == "3.11"
    assert d.python.version.source == Source(".woodpecker.yml", 6)
    assert d.database.mode.value == "create_all"
    assert d.database.create_all is not None and d.database.create_all.value == "function"
    assert d.database.create_all.source == Source("tests/conftest.py", 23)
    assert d.database.migrate is None
    assert d.tests.config == Source("setup.cfg", 1)
    assert groups(d) == {"tests": ((), None, True, None)}
    assert not d.tests.xdist.value
    pg = d.services.postgres
    assert pg is not None and pg.value.origin == "woodpecker"
    assert (pg.value.name, pg.value.user, pg.value.database) == ("database", "notes", "notes")
    assert d.dependencies.install.value == (
        ("pip", "install", "-r", "requirements.txt", "-r", "requirements-test.txt"),
    )
    assert d.questions == ()


def test_uv_workspace(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("uv_workspace")
    assert d.python.version.value == "3.11"
    assert d.python.version.source == Source(".python-version", 1)
    assert d.dependencies.manager.value == "uv"
    assert d.dependencies.workspace_members == ("packages/api", "packages/core")
    assert d.dependencies.install.value == (("uv", "sync", "--locked", "--all-packages"),)
    assert d.dependencies.editable.value
    assert {f.value for f in d.dependencies.files} >= {"uv.lock", "packages/api/pyproject.toml"}
    # Members' dependencies count: psycopg is declared only by packages/api.
    assert d.dependencies.has("psycopg") == Source("packages/api/pyproject.toml", 10)
    assert groups(d) == {
        "core": (("packages/core/tests",), None, False, "auto"),
        "api": (("packages/api/tests",), None, True, "auto"),
    }
    assert d.tests.runner.value == ("uv", "run", "pytest")
    assert d.database.mode.value == "create_all"
    assert d.database.create_all is not None and d.database.create_all.value == "session"
    pg = d.services.postgres
    assert pg is not None and (pg.value.image, pg.value.version) == ("postgres:17-alpine", "17")
    assert d.images.bake_file is not None and d.images.bake_file.value == "docker-bake.hcl"
    [target] = d.images.bake_targets
    assert (target.value.name, target.value.dockerfile, target.value.context) == (
        "api",
        "packages/api/Dockerfile",
        ".",
    )
    assert target.source == Source("docker-bake.hcl", 9)
    assert d.images.bake_default == ("api",)
    assert d.questions == ()


def test_alembic_no_syspath(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("alembic_no_syspath")
    alembic = d.database.alembic
    assert alembic is not None
    assert alembic.prepend_sys_path.value is None
    assert not alembic.importable.value
    assert alembic.importable.source == Source("migrations/env.py", 8)
    assert alembic.needs_path == "."
    assert d.database.conftest_migrates is None  # its docstring mentions alembic; it runs nothing
    assert d.database.migrate is not None and d.database.migrate.detected
    assert d.dependencies.editable.value
    assert d.dependencies.editable.source == Source(".github/workflows/test.yml", 28)
    assert d.dependencies.install.value == (
        ("python", "-m", "pip", "install", "--upgrade", "pip"),
        ("pip", "install", "-e", ".[test]"),
    )
    # The CI runs two groups by marker.
    assert groups(d) == {
        "not-integration": ((), "not integration", False, None),
        "integration": ((), "integration", True, "auto"),
    }
    assert all(g.detected for g in d.tests.groups)
    topics = [(q.topic, q.sources) for q in d.questions]
    assert ("database", (Source("migrations/env.py", 8),)) in topics
    assert ("dependencies", (Source("pyproject.toml"),)) in topics  # no lock file


def test_coverage_contexts(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("coverage_contexts")
    cov = d.coverage
    assert cov.config is not None and cov.config.path == "pyproject.toml"
    assert cov.source is not None and cov.source.value == ("billing",)
    assert cov.branch is not None and cov.branch.value
    assert cov.dynamic_context is not None and cov.dynamic_context.value == "test_function"
    assert cov.dynamic_context.source == Source("pyproject.toml", 9)
    assert cov.fail_under is not None and cov.fail_under.value == 85.0
    assert cov.runner is not None and cov.runner.value == "coverage run"
    assert d.tests.runner.value == ("coverage", "run", "-m", "pytest")
    assert d.dependencies.manager.value == "pip-tools"
    assert d.python.requires is None  # a pyproject with tool settings only
    assert d.database.mode.value == "none"
    assert "schema.sql" in d.database.mode.why
    assert groups(d) == {"tests": ((), None, True, None)}
    assert d.questions == ()


def test_py314(detected_shape: Callable[[str], Detection]) -> None:
    d = detected_shape("py314")
    assert d.python.version.value == "3.14"
    assert d.python.version.source == Source(".python-version", 1)
    assert d.python.requires is not None and d.python.requires.value == ">=3.14"
    assert {p.value for p in d.python.pins} == {"3.14"}
    pg = d.services.postgres
    assert pg is not None and pg.value.origin == "compose"
    assert (pg.value.image, pg.value.version, pg.value.user, pg.value.password) == (
        "postgres:18",
        "18",
        "events",
        "changethis",
    )
    assert not d.dependencies.editable.value  # tool.uv.package = false
    # The session fixture that creates the tables is autouse: every test needs the database.
    assert groups(d) == {"tests": ((), None, True, None)}
    assert d.database.mode.value == "create_all"
    # 3.14-only syntax does not parse here: read line by line, and said so.
    if sys.version_info < (3, 14):
        assert [q.topic for q in d.questions] == ["tests"]
        assert "does not parse" in d.questions[0].text


# Every shape the generator writes (test_project_shapes pins the list).
@pytest.mark.parametrize("shape", list(load_shapes().SHAPES))
def test_every_finding_says_where(detected_shape: Callable[[str], Detection], shape: str) -> None:
    d = detected_shape(shape)
    findings = list(d.findings())
    assert findings
    for name, finding in findings:
        assert finding.certainty in ("detected", "guessed"), name
        assert finding.why, name
        if finding.detected and finding.source is not None:
            assert (Path(d.root) / finding.source.path).exists(), (name, finding.source)
    json.dumps(d.to_dict())
    assert d.explain().startswith("project: '.'")
