"""The JUnit CI systems read (reports/junit.py): per job and merged, each testcase's file
relative to the repository and its line from 1; the node ids we derive from it stay
pytest's; merge-reports keeps job names and every runner's per-job files; and where a
repository's root is (reports/paths.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from pipeline.reports import junit
from pipeline.reports.github import junit_locations
from pipeline.reports.merge import merge_reports
from pipeline.reports.paths import PathMap, repository_root
from pipeline.stages.pytest.junit import node_id, results

TESTS = """\
import pytest


class TestRefund:
    @pytest.mark.parametrize("x", ["a", "b"])
    def test_partial(self, x):
        assert x == "a"


def test_ok():
    pass
"""


def pytest_junit(tmp_path: Path) -> Path:
    """What pytest 9 really writes (xunit1), for a project whose rootdir is ``backend``."""
    backend = tmp_path / "examples/shop/backend"
    (backend / "tests/api").mkdir(parents=True)
    (backend / "pytest.ini").write_text("[pytest]\n")
    (backend / "tests/api/test_orders.py").write_text(TESTS)
    out = tmp_path / "pytest-junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests",
         f"--junitxml={out}", "-o", "junit_family=xunit1"],
        cwd=backend, capture_output=True, text=True, timeout=120, check=False,
    )
    return out


def cases(path: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(path).getroot()
    return {f"{c.get('classname')}::{c.get('name')}": dict(c.attrib) for c in root.iter("testcase")}


def test_a_jobs_junit_for_ci_names_files_from_the_repository_and_lines_from_one(tmp_path: Path) -> None:
    source = pytest_junit(tmp_path)
    raw = cases(source)
    assert raw["tests.api.test_orders.TestRefund::test_partial[b]"]["file"] == "tests/api/test_orders.py"
    paths = PathMap(project_dir="examples/shop", workdirs={"tests-api": "backend"}, repo_root=tmp_path)
    dest = junit.ci_copy(
        source,
        tmp_path / "report/junit/tests-api.xml",
        suite="tests-api",
        to_repo=lambda f: paths.test_file(f, stage="tests-api", rootdir="/src/backend"),
    )
    written = cases(dest)
    failing = written["tests.api.test_orders.TestRefund::test_partial[b]"]
    assert failing["file"] == "examples/shop/backend/tests/api/test_orders.py"
    assert (tmp_path / failing["file"]).is_file()
    # The decorator's line, counted from 1 (pytest wrote its own 0-based line).
    assert failing["line"] == "5" and raw["tests.api.test_orders.TestRefund::test_partial[b]"]["line"] == "4"
    assert written["tests.api.test_orders::test_ok"]["line"] == "10"
    assert {s.get("name") for s in ET.parse(dest).getroot().iter("testsuite")} == {"tests-api"}
    # Read back, the node ids are pytest's own (as report.json's failures name them).
    assert {c.node_id: c.outcome for c in results(dest)} == {
        "tests/api/test_orders.py::TestRefund::test_partial[a]": "passed",
        "tests/api/test_orders.py::TestRefund::test_partial[b]": "failed",
        "tests/api/test_orders.py::test_ok": "passed",
    }
    [location] = [loc for loc in junit_locations(dest) if loc.message]
    assert (location.node_id, location.file, location.line) == (
        "tests/api/test_orders.py::TestRefund::test_partial[b]",
        "examples/shop/backend/tests/api/test_orders.py",
        5,
    )


def test_node_ids_from_a_file_named_from_the_repository_or_from_the_rootdir() -> None:
    deep = "examples/shop/backend/tests/api/test_orders.py"
    assert node_id("tests.api.test_orders.TestA", "t", file=deep) == "tests/api/test_orders.py::TestA::t"
    assert node_id("tests.api.test_orders.TestA", "t", file="tests/api/test_orders.py") == (
        "tests/api/test_orders.py::TestA::t"
    )
    # Same-named tests in two classes stay two tests.
    assert node_id("tests.x.TestA", "t", file="a/tests/x.py") != node_id("tests.x.TestB", "t", file="a/tests/x.py")
    # A dot in a directory name, under a repository folder.
    assert node_id("tests.v1.2.test_x", "t", file="svc/tests/v1.2/test_x.py") == "tests/v1.2/test_x.py::t"


def test_merge_reports_keeps_job_names_and_each_runners_job_files(tmp_path: Path) -> None:
    source = pytest_junit(tmp_path)
    runs = []
    for index, job in enumerate(("tests-1of2", "tests-2of2"), start=1):
        run = tmp_path / f"runner{index}"
        junit.ci_copy(source, run / "junit" / f"{job}.xml", suite=job, to_repo=lambda f: f"svc/{f}")
        junit.merge([run / "junit" / f"{job}.xml"], run / "junit.xml")
        (run / "report.json").write_text(json.dumps({
            "run_id": f"r{index}", "git_sha": "abc", "engine": "docker", "status": "failed",
            "started": "2026-12-01T10:00:00+00:00", "finished": "2026-12-01T10:01:00+00:00",
            "jobs": [{"name": job, "stage": "tests", "kind": "pytest", "shard": f"{index}/2", "status": "failed",
                      "duration_s": 60.0, "log": f"logs/{job}.log", "artifacts": []}],
            "tests": None, "critical_path": [job],
        }))
        runs.append(run)
    merge_reports(runs, tmp_path / "merged", root=tmp_path)
    merged = ET.parse(tmp_path / "merged/junit.xml").getroot()
    assert [s.get("name") for s in merged.iter("testsuite")] == ["tests-1of2", "tests-2of2"]
    assert sorted(p.name for p in (tmp_path / "merged/junit").iterdir()) == ["tests-1of2.xml", "tests-2of2.xml"]
    assert {loc.file for loc in junit_locations(tmp_path / "merged/junit.xml")} == {"svc/tests/api/test_orders.py"}


def test_the_repository_root_is_gits_top_level_else_githubs_workspace(tmp_path: Path) -> None:
    project = tmp_path / "repo/services/shop"
    project.mkdir(parents=True)
    assert repository_root(project, {}) == project.resolve()
    assert repository_root(project, {"GITHUB_WORKSPACE": str(tmp_path / "repo")}) == (tmp_path / "repo").resolve()
    assert repository_root(project, {"GITHUB_WORKSPACE": str(tmp_path / "elsewhere")}) == project.resolve()
    (tmp_path / "repo/.git").write_text("gitdir: /somewhere/else\n")  # a worktree's .git is a file
    assert repository_root(project, {}) == (tmp_path / "repo").resolve()
