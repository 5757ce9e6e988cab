"""Detection of the bundled example finds what its hand-written pipeline.yaml says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.detect import Context, Detection, Source, detect, detect_images

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "pipeline.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def found(config: dict[str, Any]) -> Detection:
    return detect(REPO / config["project"]["root"])


def _stages(config: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in config["stages"] if s["kind"] == kind]


def test_python_and_dependencies(config: dict[str, Any], found: Detection) -> None:
    test_image = next(k for k in config["images"]["aliases"] if k.startswith("python:"))
    assert found.python.version.value == re.match(r"python:(\d+\.\d+)", test_image).group(1) == "3.11"  # type: ignore[union-attr]
    assert found.python.version.detected
    assert found.python.requires is not None
    assert found.python.requires.value == ">=3.11,<3.12"
    assert found.python.requires.source == Source("backend/pyproject.toml", 5)
    assert found.dependencies.manager.value == "uv"
    root = config["project"]["root"]
    key_files = {f"{root}/{f.value}" for f in found.dependencies.files}
    assert key_files == set(config["images"]["test_base"]["key_files"])
    assert found.dependencies.test_groups is not None
    assert found.dependencies.test_groups.value == ("test",)
    assert not found.dependencies.editable.value  # tool.uv.package = false


def test_groups_are_the_pytest_stages(config: dict[str, Any], found: Detection) -> None:
    stages = _stages(config, "pytest")
    assert {s["workdir"] for s in stages} == {found.project.value} == {"backend"}
    by_paths = {g.value.paths: g for g in found.tests.groups}
    assert set(by_paths) == {tuple(s["paths"]) for s in stages}
    for stage in stages:
        group = by_paths[tuple(stage["paths"])]
        assert group.detected
        assert stage["name"] == f"tests-{group.value.name}"
        assert group.value.needs_database == ("database" in stage)
        assert group.value.needs_database == ("postgres" in stage.get("services", []))
    assert {g.value.name for g in found.tests.groups} == {"unit", "integration", "api"}


def test_postgres_and_migrations(config: dict[str, Any], found: Detection) -> None:
    pg = found.services.postgres
    assert pg is not None
    assert pg.value.kind == "postgres" == config["services"]["postgres"]["image"].split(":")[0]
    # No compose file or CI service in the example: the service is a guess from its driver
    # and default URL, and its version is a question.
    assert not pg.detected
    assert pg.value.user == config["services"]["postgres"]["env"]["POSTGRES_USER"]
    assert any(q.topic == "services" and "major version" in q.text for q in found.questions)
    databases = [s["database"] for s in _stages(config, "pytest") if "database" in s]
    assert found.database.mode.value == "alembic"
    assert found.database.migrate is not None
    assert all(list(found.database.migrate.value) == db["migrate"] for db in databases)
    assert found.database.name is not None
    assert all(found.database.name.value == db["name"] for db in databases)
    assert found.database.alembic is not None and found.database.alembic.importable.value
    # Its conftest reads PYTEST_XDIST_WORKER only to label its session: one shared database.
    assert found.database.per_worker.value == "shared"
    assert found.database.conftest_migrates is not None and found.database.conftest_migrates.value


def test_coverage(config: dict[str, Any], found: Detection) -> None:
    sources = {tuple(s["coverage"]["source"]) for s in _stages(config, "pytest")}
    assert found.coverage.source is not None
    assert {found.coverage.source.value} == sources
    assert found.coverage.source.source == Source("backend/pyproject.toml", 41)
    assert found.coverage.branch is not None and found.coverage.branch.value
    assert found.coverage.dynamic_context is None


def test_frontend(config: dict[str, Any], found: Detection) -> None:
    [stage] = [s for s in _stages(config, "command") if s["name"] == "frontend"]
    [frontend] = found.frontends
    assert frontend.path == stage["source"] == "frontend"
    assert frontend.package_manager.value == "npm"
    assert frontend.package_manager.source == Source("frontend/package-lock.json")
    written = [tuple(c) for c in stage["commands"]]
    assert frontend.commands[0] == written[0][:2] == ("npm", "ci")
    assert frontend.commands[1:] == tuple(written[1:])
    assert frontend.node is not None and frontend.node.value == "20"
    assert stage["image"] == f"node:{frontend.node.value}-slim"


def test_bake_targets(config: dict[str, Any]) -> None:
    images = detect_images(Context(REPO))
    assert images.bake_file is not None and images.bake_file.value == config["images"]["bake"]
    targets = {t.value.name: t.value for t in images.bake_targets}
    assert set(targets) == {"test-base", "backend", "frontend"}
    for stage in _stages(config, "build"):
        assert set(stage["targets"]) <= set(targets)
    assert targets["backend"].context == "examples/inventory/backend"
    assert targets["backend"].target == "runtime"
    assert images.bake_default == ("backend", "frontend")
    assert images.test_dockerfile is not None
    assert images.test_dockerfile.value == config["images"]["test_base"]["dockerfile"]


def test_only_the_version_is_asked(found: Detection) -> None:
    assert [q.topic for q in found.questions] == ["services"]
