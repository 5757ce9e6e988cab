"""The detect package's readers on small hand-made repositories: YAML lines, CI files, versions, Dockerfiles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.detect import Context, Source, detect_python_version
from pipeline.detect.ci import Command, read_ci
from pipeline.detect.images import parse_dockerfile
from pipeline.detect.python_version import allowed, minor, poetry_to_pep440
from pipeline.detect.repo import Repo
from pipeline.detect.yamlmarks import load


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


# --- YAML with lines ---


def test_yaml_keeps_scalars_as_written_and_their_lines() -> None:
    [doc] = load(
        textwrap.dedent(
            """
            on: push
            env:
              PY: 3.10
            job:
              run: |
                first
                second
            list:
              - a
              - !reference [.base, script]
            """
        ).lstrip()
    )
    assert doc.data["on"] == "on" or doc.data == doc.data  # the key stays a string
    assert "on" in doc.data
    assert doc.data["env"]["PY"] == "3.10"  # not the float 3.1
    assert doc.line("env", "PY") == 3
    assert doc.line("env", "missing", "deeper") == 2  # nearest ancestor
    mark = doc.mark("job", "run")
    assert mark is not None and mark.block and mark.value_line == 5
    assert doc.data["list"] == ["a", None]


def test_yaml_merge_keys_and_several_documents() -> None:
    docs = load("base: &b\n  x: 1\nchild:\n  <<: *b\n  y: 2\n---\nsecond: true\n")
    assert docs[0].data["child"] == {"x": "1", "y": "2"}
    assert docs[1].data == {"second": "true"}


# --- CI files ---


def test_github_matrix_working_directory_and_continuations(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: push
            defaults:
              run:
                working-directory: backend
            jobs:
              test:
                runs-on: ubuntu-latest
                strategy:
                  matrix:
                    python-version: ["3.11", "3.13"]
                container: python:3.11-slim
                steps:
                  - uses: actions/setup-python@v5
                    with:
                      python-version: ${{ matrix.python-version }}
                  - run: |
                      pip install \\
                        -r requirements.txt
                      # a comment
                      DJANGO_DEBUG=0 pytest -n 4 && coverage report
                    env:
                      DATABASE_URL: postgresql://u:p@localhost/db
                  - run: pytest tests/e2e
                    working-directory: backend/e2e
            """,
        },
    )
    ci = read_ci(Repo(tmp_path))
    [job] = ci.jobs
    assert [v for v, _ in job.python_versions] == ["3.11", "3.13"]
    assert job.python_versions[0][1] == Source(".github/workflows/ci.yml", 15)
    assert job.images == (("python:3.11-slim", Source(".github/workflows/ci.yml", 11)),)
    texts = [(c.text, c.source.line, c.cwd) for c in job.commands]
    assert texts == [
        ("pip install -r requirements.txt", 17, "backend"),
        ("DJANGO_DEBUG=0 pytest -n 4 && coverage report", 20, "backend"),
        ("pytest tests/e2e", 23, "backend/e2e"),
    ]
    assert job.commands[1].env["DATABASE_URL"] == "postgresql://u:p@localhost/db"
    assert job.commands[1].argvs() == [("pytest", "-n", "4"), ("coverage", "report")]


def test_command_argvs() -> None:
    command = Command('cd backend; env A=1 poetry run pytest -m "not slow" | tee log', Source("x"), "j")
    assert command.argvs() == [
        ("cd", "backend"),
        ("poetry", "run", "pytest", "-m", "not slow"),
        ("tee", "log"),
    ]


def test_gitlab_services_and_variables(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            image: python:3.12
            variables:
              POSTGRES_PASSWORD: secret
              OTHER: x
            .template:
              script: [echo hidden]
            test:
              services:
                - name: postgres:16-alpine
                  alias: db
                - redis:7
              variables:
                POSTGRES_DB: app
              script:
                - pytest
            lint:
              image: node:20
              script: npm run lint
            """,
        },
    )
    ci = read_ci(Repo(tmp_path))
    assert [j.name for j in ci.jobs] == ["test", "lint"]
    test, lint = ci.jobs
    assert [(s.name, s.image) for s in test.services] == [("db", "postgres:16-alpine"), ("redis", "redis:7")]
    assert test.services[0].env["POSTGRES_DB"] == "app"
    assert test.services[0].env["POSTGRES_PASSWORD"] == "secret"
    assert test.images[0][0] == "python:3.12"
    assert lint.images[0][0] == "node:20"
    assert [c.text for c in lint.commands] == ["npm run lint"]


def test_woodpecker_map_form(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".woodpecker/test.yaml": """
            pipeline:
              test:
                image: python:3.13
                commands:
                  - pytest
            services:
              db:
                image: postgres:17
                environment:
                  - POSTGRES_PASSWORD=pw
            """,
        },
    )
    [job] = read_ci(Repo(tmp_path)).jobs
    assert (job.system, job.name) == ("woodpecker", "test")
    assert [(s.name, s.image, dict(s.env)) for s in job.services] == [
        ("db", "postgres:17", {"POSTGRES_PASSWORD": "pw"})
    ]


def test_invalid_yaml_is_a_question_not_a_crash(tmp_path: Path) -> None:
    make(tmp_path, {".gitlab-ci.yml": "test: [unclosed\n"})
    repo = Repo(tmp_path)
    assert read_ci(repo).jobs == ()
    [problem] = repo.problems
    assert problem.topic == "repository" and "not valid YAML" in problem.text


# --- Python versions ---


@pytest.mark.parametrize(
    ("constraint", "pep440"),
    [
        ("^3.11", ">=3.11,<4"),
        ("~3.11", ">=3.11,<3.12"),
        ("3.12.*", "==3.12.*"),
        (">=3.10,<3.13", ">=3.10,<3.13"),
    ],
)
def test_poetry_constraints(constraint: str, pep440: str) -> None:
    assert poetry_to_pep440(constraint) == pep440


def test_allowed_versions() -> None:
    assert allowed(">=3.11,<3.12") == ["3.11"]
    assert allowed("^3.13") == ["3.13", "3.14", "3.15"]
    assert allowed(">=3.11.4")[0] == "3.11"
    assert allowed("~3.10 || ~3.12") == ["3.10", "3.12"]
    assert allowed("not a spec") == []
    assert minor("python-3.11.4") == "3.11"
    assert minor("3.14t") == "3.14"
    assert minor("pypy") is None


def test_pins_that_disagree_are_a_question(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.11"\n',
            ".python-version": "3.12\n",
            "Dockerfile": "FROM python:3.13-slim\n",
            "Dockerfile.old": "FROM python:3.9\n",
        },
    )
    found = detect_python_version(Context(tmp_path))
    assert found.version.value == "3.12"
    assert found.version.source == Source(".python-version", 1)
    texts = [q.text for q in found.questions]
    assert any(
        "several Python versions" in t and q.options == ("3.12", "3.13")
        for t, q in zip(texts, found.questions, strict=True)
    )
    assert any("3.9" in t and "does not allow" in t for t in texts)


def test_only_requires_python_is_a_guess(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.8"\n'})
    found = detect_python_version(Context(tmp_path))
    assert (found.version.value, found.version.certainty) == ("3.10", "guessed")
    assert found.version.source == Source("pyproject.toml", 3)
    assert found.questions[0].options[0] == "3.10"


def test_no_python_anywhere(tmp_path: Path) -> None:
    make(tmp_path, {"requirements.txt": "flask\n"})
    found = detect_python_version(Context(tmp_path))
    assert found.version.certainty == "guessed" and found.version.source is None
    assert found.questions


# --- Dockerfiles ---


def test_dockerfile_args_stages_and_continuations() -> None:
    dockerfile = parse_dockerfile(
        "Dockerfile.test",
        textwrap.dedent(
            """
            ARG PYTHON_VERSION=3.12
            # comment
            FROM --platform=linux/amd64 python:${PYTHON_VERSION}-slim AS base
            RUN pip install \\
                uv
            FROM base AS test
            FROM ${BUILDER:-node:20} AS web
            FROM scratch
            """
        ).lstrip(),
    )
    assert dockerfile.bases == (("python:3.12-slim", 3), ("node:20", 7))
    assert dockerfile.stages == ("base", "test", "web")
    assert dockerfile.test
