"""The bench workload generator (bench/workload): deterministic, counted, mutable.

The generated project itself needs FastAPI, SQLAlchemy and PostgreSQL; these tests
check it statically (every module compiles, tests counted from the source), and
collect it with pytest only where an interpreter with its dependencies is at hand
(this one, or ``WORKLOAD_PYTHON``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.workload import generate, handtuned, mutate  # noqa: E402

SMALL = 300


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("workload") / "project"
    generate.generate(out, tests=SMALL)
    return out


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def static_count(path: Path) -> int:
    """Tests in a generated module: each test function times its parametrize cases."""
    total = 0
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        cases = 1
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.parametrize":
                values = decorator.args[1]
                assert isinstance(values, ast.List)
                cases *= len(values.elts)
        total += cases
    return total


def test_same_seed_same_bytes(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate.main([str(again), "--tests", str(SMALL)])
    assert tree_digest(again) == tree_digest(small)


def test_another_seed_another_project() -> None:
    files, _ = generate.render(generate.plan(seed=generate.DEFAULT_SEED, tests=SMALL))
    other, _ = generate.render(generate.plan(seed=generate.DEFAULT_SEED + 1, tests=SMALL))
    assert files != other
    assert files == generate.render(generate.plan(seed=generate.DEFAULT_SEED, tests=SMALL))[0]


@pytest.mark.parametrize("tests", [SMALL, generate.DEFAULT_TESTS])
def test_groups_hold_the_declared_counts(tests: int) -> None:
    files, manifest = generate.render(generate.plan(tests=tests))
    groups = manifest["groups"]
    assert sum(groups.values()) == tests
    assert groups == {
        "unit": round(tests * 0.6),
        "integration": round(tests * 0.25),
        "api": tests - round(tests * 0.6) - round(tests * 0.25),
    }
    assert sum(manifest["slow"].values()) == round(tests * 0.01)
    per_group = dict.fromkeys(generate.GROUPS, 0)
    for rel, declared in manifest["modules"].items():
        assert rel in files
        per_group[rel.split("/")[1]] += declared
    assert per_group == groups
    # Both database shapes appear in both database groups.
    for group in ("integration", "api"):
        shapes = {entity[group] for entity in manifest["entities"]}
        assert shapes == {"recreate", "truncate"}


def test_source_counts_match_the_manifest(small: Path) -> None:
    manifest = json.loads((small / "workload.json").read_text())
    counted = {
        str(path.relative_to(small)): static_count(path)
        for path in sorted((small / "tests").rglob("test_*.py"))
    }
    assert counted == manifest["modules"]
    slow = sum(
        1
        for path in (small / "tests").rglob("test_*.py")
        for line in path.read_text().splitlines()
        if line == "@pytest.mark.slow"
    )
    assert slow == sum(manifest["slow"].values())


def test_every_python_file_compiles(small: Path) -> None:
    modules = sorted(small.rglob("*.py"))
    assert len([m for m in modules if m.parts[len(small.parts)] == "app"]) >= 60
    for module in modules:
        compile(module.read_text(encoding="utf-8"), str(module), "exec")


def test_project_files_fit_slipway(small: Path) -> None:
    config = yaml.safe_load((small / "pipeline.yaml").read_text())
    jsonschema.validate(config, json.loads((REPO / "schema" / "pipeline.schema.json").read_text()))
    assert [s["paths"] for s in config["stages"]] == [["tests/unit"], ["tests/integration"], ["tests/api"]]
    dockerfile = (small / "Dockerfile.test").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "COPY requirements.txt" in dockerfile
    assert "python:3.11-slim" in config["images"]["aliases"]
    requirements = (small / "requirements.txt").read_text().splitlines()
    pins = [line for line in requirements if line and not line.startswith("#")]
    assert all("==" in line for line in pins)
    assert {"fastapi", "sqlalchemy", "pydantic", "psycopg", "pytest", "pytest-xdist", "httpx"} <= {
        line.split("==")[0] for line in pins
    }


def test_mutants_apply_and_revert_cleanly(small: Path) -> None:
    before = tree_digest(small)
    found = mutate.mutants(small)
    assert len({m.id for m in found}) == len(found)
    for group in generate.GROUPS:  # some mutants only one group's tests catch
        assert any(m.caught_by == (group,) for m in found), group
    for m in found:
        path = small / m.path
        with mutate.applied(small, m):
            text = path.read_text()
            assert m.original not in text
            assert text.count(m.replacement) == 1
            compile(text, str(path), "exec")
        assert tree_digest(small) == before
    with pytest.raises(ValueError, match="exactly once"):
        mutate.revert(small, found[0])


def test_one_module_change_is_reversible(small: Path) -> None:
    before = tree_digest(small)
    for module in (None, "app/models/__init__.py", "app/main.py"):
        rel = mutate.change_module(small, module)
        changed = (small / rel).read_text()
        assert mutate.CHANGE_MARK in changed
        compile(changed, rel, "exec")
        after = tree_digest(small)
        assert [name for name in before if before[name] != after[name]] == [rel]
        with pytest.raises(ValueError, match="already changed"):
            mutate.change_module(small, module)
        mutate.unchange_module(small, module)
        assert tree_digest(small) == before


def test_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="refusing"):
        generate.generate(tmp_path, tests=SMALL)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_handtuned_reads_pytest_output() -> None:
    output = "\n".join(
        [
            "....F.s",
            "FAILED tests/unit/test_x.py::test_y - assert 1 == 2",
            "1 failed, 5 passed, 1 skipped, 2 errors in 12.34s",
            'BENCH-CPU {"user": 20.25, "sys": 1.5}',
        ]
    )
    assert handtuned.parse_summary(output) == {
        "passed": 5,
        "failed": 1,
        "skipped": 1,
        "errors": 2,
        "pytest_s": 12.34,
        "cpu_pytest_s": 21.8,
    }
    assert handtuned.pytest_argv("handtuned", 2)[-5:] == [
        "handtuned_plugin",
        "-n",
        "2",
        "--dist",
        "worksteal",
    ]
    assert "-n" not in handtuned.pytest_argv("sequential", 2)
    with pytest.raises(ValueError, match="unknown line"):
        handtuned.pytest_argv("other", 2)


def _workload_python() -> str | None:
    candidate = os.environ.get("WORKLOAD_PYTHON") or sys.executable
    probe = subprocess.run(
        [candidate, "-c", "import fastapi, sqlalchemy, pydantic, httpx, psycopg, xdist"],
        capture_output=True,
        check=False,
    )
    return candidate if probe.returncode == 0 else None


def test_pytest_collects_the_declared_counts(small: Path) -> None:
    python = _workload_python()
    if python is None:
        pytest.skip(
            "no interpreter with the workload's dependencies (set WORKLOAD_PYTHON); counted statically"
        )
    manifest = json.loads((small / "workload.json").read_text())
    proc = subprocess.run(
        [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=small,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    collected = {group: sum(1 for i in ids if i.startswith(f"tests/{group}/")) for group in generate.GROUPS}
    assert collected == manifest["groups"]
    assert f"{manifest['tests']} tests collected" in proc.stdout
