"""Detection on small hand-made repositories: services, frontends, monorepos, conftests, coverage, questions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.detect import Source, detect
from pipeline.detect.groups import matches as _matches
from pipeline.detect.services import kind_of


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.mark.parametrize(
    ("image", "kind", "version"),
    [
        ("postgres:15", "postgres", "15"),
        ("postgres:17-alpine", "postgres", "17"),
        ("docker.io/library/postgres", "postgres", None),
        ("postgis/postgis:16-3.4", "postgres", "16"),
        ("localhost:5000/redis:7.2", "redis", "7"),
        ("bitnami/mariadb:11", "mariadb", "11"),
        ("my/app:1.0", "other", "1"),
    ],
)
def test_kind_of(image: str, kind: str, version: str | None) -> None:
    assert kind_of(image) == (kind, version)


def test_compose_env_forms_interpolation_and_unknown_variables(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "requirements.txt": "asyncpg\n",
            ".env": "PG_PASSWORD=from-dotenv\n",
            "docker/compose.test.yml": """
            services:
              pg:
                image: postgres:${PG_MAJOR:-16}
                environment:
                  - POSTGRES_USER=app
                  - POSTGRES_PASSWORD=${PG_PASSWORD}
                ports:
                  - "127.0.0.1:15432:5432/tcp"
              cache:
                image: redis:7
                environment:
                  REDIS_ARGS: ${REDIS_ARGS}
            """,
        },
    )
    d = detect(tmp_path)
    pg = d.services.postgres
    assert pg is not None and pg.detected
    assert pg.source == Source("docker/compose.test.yml", 2)
    # ${VAR:-default} takes its default; the .env beside the compose file is not this one's.
    assert (pg.value.image, pg.value.version, pg.value.port) == ("postgres:16", "16", 5432)
    assert pg.value.user == "app" and pg.value.database == "app"
    assert pg.value.password == "${PG_PASSWORD}"
    redis = d.services.kind("redis")
    assert redis is not None and redis.value.port == 6379
    unknown = [q.text for q in d.questions if q.topic == "services"]
    assert any("PG_PASSWORD" in t for t in unknown) and any("REDIS_ARGS" in t for t in unknown)


def test_postgres_versions_that_differ_are_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "requirements.txt": "psycopg\n",
            "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: x\n",
            ".github/workflows/t.yml": """
            on: push
            jobs:
              t:
                runs-on: ubuntu-latest
                services:
                  pg:
                    image: postgres:15
                    env: {POSTGRES_PASSWORD: x}
                steps:
                  - run: pytest
            """,
        },
    )
    d = detect(tmp_path)
    assert d.services.postgres is not None and d.services.postgres.value.version == "15"  # the CI's
    [question] = [q for q in d.questions if "versions differ" in q.text]
    assert question.options == ("15", "16")
    assert set(question.sources) == {Source(".github/workflows/t.yml", 6), Source("docker-compose.yml", 2)}


def test_a_postgres_service_without_password_is_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {"requirements.txt": "psycopg\n", "compose.yaml": "services:\n  db:\n    image: postgres:17\n"},
    )
    assert any("POSTGRES_PASSWORD" in q.text for q in detect(tmp_path).questions)


@pytest.mark.parametrize(
    ("lock", "extra", "manager", "install"),
    [
        ("pnpm-lock.yaml", {}, "pnpm", ("pnpm", "install", "--frozen-lockfile")),
        ("yarn.lock", {}, "yarn", ("yarn", "install", "--frozen-lockfile")),
        (
            "yarn.lock",
            {"web/.yarnrc.yml": "nodeLinker: node-modules\n"},
            "yarn",
            ("yarn", "install", "--immutable"),
        ),
        ("bun.lock", {}, "bun", ("bun", "install", "--frozen-lockfile")),
    ],
)
def test_frontend_package_managers(
    tmp_path: Path, lock: str, extra: dict[str, str], manager: str, install: tuple[str, ...]
) -> None:
    make(
        tmp_path,
        {
            "web/package.json": '{"scripts": {"test": "vitest run", "build": "vite build", "dev": "vite", "type-check": "tsc"}}',
            f"web/{lock}": "",
            "web/.nvmrc": "v22.3.0\n",
            **extra,
        },
    )
    [frontend] = detect(tmp_path).frontends
    assert frontend.path == "web"
    assert frontend.package_manager.value == manager
    assert frontend.commands == (
        install,
        (manager, "run", "type-check"),
        (manager, "test"),
        (manager, "run", "build"),
    )
    assert [s.value for s in frontend.scripts] == ["type-check", "test", "build"]
    assert frontend.node is not None and (frontend.node.value, frontend.node.source) == (
        "22",
        Source("web/.nvmrc", 1),
    )


def test_frontend_without_lock_file(tmp_path: Path) -> None:
    make(tmp_path, {"ui/package.json": '{"scripts": {"lint": "eslint ."}, "engines": {"node": ">=20"}}'})
    [frontend] = detect(tmp_path).frontends
    assert frontend.package_manager.certainty == "guessed"
    assert frontend.install == ("npm", "install")
    assert frontend.node is not None and frontend.node.value == "20" and not frontend.node.detected
    assert frontend.questions and "no lock file" in frontend.questions[0].text


def test_a_package_json_without_checks_is_no_frontend(tmp_path: Path) -> None:
    make(tmp_path, {"package.json": '{"scripts": {"prepare": "husky"}}', "requirements.txt": "flask\n"})
    assert detect(tmp_path).frontends == ()


def test_several_python_projects_are_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "api/pyproject.toml": '[project]\nname = "api"\n',
            "api/tests/test_a.py": "def test_a():\n    pass\n",
            "worker/pyproject.toml": '[project]\nname = "worker"\n',
            "docs/requirements.txt": "sphinx\n",
        },
    )
    d = detect(tmp_path)
    assert (d.project.value, d.project.certainty) == ("api", "guessed")
    [question] = [q for q in d.questions if q.topic == "project"]
    assert question.options == ("api", "docs", "worker")


def test_ci_in_a_subfolder_and_python_m_pytest(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "backend/pyproject.toml": '[project]\nname = "b"\nrequires-python = ">=3.11"\n',
            "backend/tests/api/test_a.py": "def test_a():\n    pass\n",
            "backend/tests/unit/test_b.py": "def test_b():\n    pass\n",
            ".github/workflows/ci.yml": """
            on: push
            jobs:
              test:
                runs-on: ubuntu-latest
                defaults:
                  run:
                    working-directory: backend
                steps:
                  - run: python -m pytest tests/unit
                  - run: python -m pytest tests/api -n 2 --cov=b
            """,
        },
    )
    d = detect(tmp_path)
    assert d.project.value == "backend"
    assert [(g.value.name, g.value.paths, g.value.workers) for g in d.tests.groups] == [
        ("unit", ("tests/unit",), None),
        ("api", ("tests/api",), "2"),
    ]
    assert d.tests.runner.value == ("python", "-m", "pytest")
    assert d.coverage.runner is not None and d.coverage.runner.value == "pytest-cov"


@pytest.mark.parametrize(
    ("expr", "marks", "selected"),
    [
        ("db", {"db"}, True),
        ("not db", {"db"}, False),
        ("not db", set(), True),
        ("slow and not db", {"slow"}, True),
        ("(a or b) and not c", {"b", "c"}, False),
        ("", set(), True),
    ],
)
def test_marker_expressions(expr: str, marks: set[str], selected: bool) -> None:
    assert _matches(expr, marks) is selected


CONFTEST_DB = """
import os
import pytest
from sqlalchemy import create_engine

@pytest.fixture(scope="session")
def engine():
    return create_engine(os.environ["DATABASE_URL"])
"""


@pytest.mark.parametrize(
    ("snippet", "shape"),
    [
        # The recipe from the write-ups: the name gets the worker id.
        (
            'worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")\nDB_NAME = f"app_test_{worker}"\n',
            "conftest_suffix",
        ),
        (
            "@pytest.fixture(scope='session')\ndef db_url(worker_id):\n    return BASE + '_' + worker_id + '_db'\n",
            "conftest_suffix",
        ),
        (
            "@pytest.fixture(scope='session')\ndef database_name(worker_id):\n    return f'app_{worker_id}'\n",
            "conftest_suffix",
        ),
        # The worker id used for something else is no per-worker database.
        ('label = os.environ.get("PYTEST_XDIST_WORKER", "main")\nname = f"tests {label}"\n', "shared"),
        ("", "shared"),
    ],
)
def test_per_worker_shape(tmp_path: Path, snippet: str, shape: str) -> None:
    make(
        tmp_path,
        {
            "requirements.txt": "sqlalchemy\npsycopg\n",
            "tests/conftest.py": CONFTEST_DB + snippet,
            "tests/test_x.py": "def test_x(engine):\n    pass\n",
        },
    )
    d = detect(tmp_path)
    assert d.database.per_worker.value == shape
    assert d.tests.groups[0].value.needs_database


def test_tests_with_a_database_but_no_schema_are_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "requirements.txt": "psycopg\n",
            "tests/conftest.py": CONFTEST_DB,
            "tests/test_x.py": "def test_x(engine):\n    pass\n",
        },
    )
    d = detect(tmp_path)
    assert d.database.mode.value == "none"
    assert any(q.topic == "database" and "schema" in q.text for q in d.questions)


def test_alembic_in_a_src_layout(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
            "alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = src\n",
            "migrations/env.py": "from svc.models import Base\n",
            "src/svc/__init__.py": "",
            "src/svc/models.py": "Base = None\n",
        },
    )
    alembic = detect(tmp_path).database.alembic
    assert alembic is not None
    assert alembic.script_location == "migrations"
    assert alembic.app_modules == ("svc",)
    assert alembic.importable.value and alembic.needs_path is None


def test_alembic_needing_src_on_the_path(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "alembic.ini": "[alembic]\nscript_location = migrations\nprepend_sys_path = .\n",
            "migrations/env.py": "import os\nfrom svc.models import Base\n",
            "src/svc/__init__.py": "",
        },
    )
    alembic = detect(tmp_path).database.alembic
    assert alembic is not None
    assert not alembic.importable.value
    assert alembic.needs_path == "src"
    assert alembic.importable.source == Source("migrations/env.py", 2)


def test_coveragerc_wins_and_pytest_cov_with_contexts_is_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n[tool.coverage.run]\nsource = ["ignored"]\n',
            ".coveragerc": "[run]\nsource =\n    pkg\n    other\ndynamic_context = test_function\n[report]\nfail_under = 90\n",
            "pytest.ini": "[pytest]\naddopts = --cov -n auto\n",
        },
    )
    d = detect(tmp_path)
    cov = d.coverage
    assert cov.config == Source(".coveragerc")
    assert cov.source is not None and cov.source.value == ("pkg", "other")
    assert cov.source.source == Source(".coveragerc", 2)
    assert cov.fail_under is not None and cov.fail_under.value == 90.0
    assert cov.runner is not None and cov.runner.value == "pytest-cov"
    assert any(q.topic == "coverage" and "xdist" in q.text for q in d.questions)
    assert d.tests.xdist.value


def test_files_and_ci_disagreeing_on_the_manager_is_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n[tool.poetry]\nname = "x"\n',
            "poetry.lock": "",
            ".gitlab-ci.yml": "test:\n  script:\n    - uv sync\n    - uv run pytest\n",
        },
    )
    d = detect(tmp_path)
    assert d.dependencies.manager.value == "poetry"
    assert d.dependencies.install.value == (("uv", "sync"),)
    assert any("the CI installs with uv" in q.text for q in d.questions)


def test_an_empty_repository(tmp_path: Path) -> None:
    d = detect(tmp_path)
    assert d.project.certainty == "guessed"
    assert d.tests.groups[0].value.files == 0
    topics = {q.topic for q in d.questions}
    assert {"project", "python", "dependencies", "tests"} <= topics
