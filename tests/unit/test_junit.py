"""JUnit parsing and merging, on files written by real pytest runs.

Two tiny projects are run once per module: one with pytest-rerunfailures
(a flaky test, a test that fails on every attempt, a teardown error, classes,
nested classes and awkward parameters), and one with a collection error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.model.outcome import TestTotals
from pipeline.reports.junit import merge
from pipeline.stages.pytest.junit import (
    JUnitError,
    durations,
    failing,
    flaky,
    node_id,
    results,
    totals,
)
from pipeline.stages.pytest.shards import parse_collected

pytestmark = pytest.mark.unit

MAIN_TESTS = '''\
import pathlib
import pytest

COUNTER = pathlib.Path(__file__).with_name("attempts")


def test_flaky():
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    assert n >= 1, "fails the first time only"


def test_always_fails():
    assert 1 == 2


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown")


def test_teardown_error(broken_teardown):
    pass


def test_fails_and_teardown_fails(broken_teardown):
    assert False


@pytest.mark.skip(reason="no")
def test_skipped():
    pass


@pytest.mark.xfail
def test_xfail():
    assert False


class TestThings:
    @pytest.mark.parametrize("x", ["a b", "c::d", "1.5"])
    def test_param(self, x):
        pass

    class TestInner:
        def test_nested(self):
            pass
'''


@dataclass(frozen=True)
class Project:
    root: Path
    junit: Path
    collected: list[str]


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def main_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("main")
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tests" / "api").mkdir(parents=True)
    (root / "tests" / "api" / "test_things.py").write_text(MAIN_TESTS)
    collected = parse_collected(_pytest(root, "--collect-only", "-q").stdout)
    proc = _pytest(root, "--reruns", "2", "--junitxml=junit.xml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert " rerun" in proc.stdout  # pytest-rerunfailures did rerun
    return Project(root, root / "junit.xml", collected)


@pytest.fixture(scope="module")
def broken_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("broken")
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_broken.py").write_text("import not_a_module_anywhere\n")
    proc = _pytest(root, "--junitxml=junit.xml", "-o", "junit_family=xunit1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    return Project(root, root / "junit.xml", [])


def test_totals_count_a_test_that_passed_on_rerun_as_flaky(main_project: Project) -> None:
    cases = results(main_project.junit, root=main_project.root)
    assert totals(cases) == TestTotals(passed=4, failed=2, skipped=2, errors=1, flaky=1)
    assert flaky(cases) == ["tests/api/test_things.py::test_flaky"]
    by_id = {c.node_id: c for c in cases}
    assert by_id["tests/api/test_things.py::test_flaky"].attempts == 2
    assert by_id["tests/api/test_things.py::test_always_fails"].attempts == 3
    assert by_id["tests/api/test_things.py::test_always_fails"].message.startswith("assert 1 == 2")


def test_failing_ids_are_the_ids_pytest_collected(main_project: Project) -> None:
    cases = results(main_project.junit, root=main_project.root)
    assert failing(cases) == [
        "tests/api/test_things.py::test_always_fails",
        "tests/api/test_things.py::test_teardown_error",
        "tests/api/test_things.py::test_fails_and_teardown_fails",
    ]
    # Every id maps back to exactly what pytest itself calls the test, so it
    # can be pasted into a reproduce command.
    assert [c.node_id for c in cases] == main_project.collected


def test_node_ids_without_the_rootdir_use_the_capitalised_class_rule(
    main_project: Project,
) -> None:
    assert {c.node_id for c in results(main_project.junit)} == set(main_project.collected)


def test_node_id_mapping_rules(tmp_path: Path) -> None:
    assert node_id("tests.unit.test_x.TestA", "test_b[1.5]") == "tests/unit/test_x.py::TestA::test_b[1.5]"
    assert node_id("tests.test_x", "test_b") == "tests/test_x.py::test_b"
    # A dotted directory is only recoverable from the file attribute or the tree.
    assert (
        node_id("tests.v1.2.test_x", "t", file="tests/v1.2/test_x.py") == "tests/v1.2/test_x.py::t"
    )
    (tmp_path / "tests" / "v1.2").mkdir(parents=True)
    (tmp_path / "tests" / "v1.2" / "test_x.py").write_text("")
    assert node_id("tests.v1.2.test_x.Test", "t", root=tmp_path) == "tests/v1.2/test_x.py::Test::t"
    assert node_id("", "tests.test_broken") == "tests/test_broken.py"


def test_collection_error_counts_as_an_error(broken_project: Project) -> None:
    cases = results(broken_project.junit, root=broken_project.root)
    assert totals(cases) == TestTotals(errors=1)
    assert failing(cases) == ["tests/test_broken.py"]


def test_merge_keeps_suites_sums_counters_and_totals(
    main_project: Project, broken_project: Project, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "junit.xml"
    total = merge([main_project.junit, broken_project.junit], out, names=["api", "unit"])
    assert total == TestTotals(passed=4, failed=2, skipped=2, errors=2, flaky=1)
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["api", "unit"]
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key, "")) == sum(int(s.get(key, "0")) for s in suites)
    assert float(root.get("time", "")) == pytest.approx(
        sum(float(s.get("time", "0")) for s in suites), abs=0.01
    )
    # The merged file reads back to the same answer, suite by suite.
    merged_cases = results(out, root=main_project.root)
    assert totals(merged_cases) == total
    assert {c.suite for c in merged_cases} == {"api", "unit"}


def test_durations_for_the_shard_record(main_project: Project) -> None:
    record = durations(results(main_project.junit, root=main_project.root))
    assert "tests/api/test_things.py::test_skipped" not in record
    assert "tests/api/test_things.py::TestThings::test_param[a b]" in record
    assert all(seconds >= 0 for seconds in record.values())


def test_unreadable_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "half.xml"
    bad.write_text("<testsuites><testsuite>")
    with pytest.raises(JUnitError, match=r"half\.xml"):
        results(bad)
    with pytest.raises(JUnitError, match=r"missing\.xml"):
        merge([tmp_path / "missing.xml"], tmp_path / "out.xml")
