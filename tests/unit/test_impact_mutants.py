"""Test impact analysis against mutants: each mutant must fail under the selection exactly
when it fails in a full run (0 missed failures), and a one-module change must run fewer
tests than a full run. The plugin runs for real, in pytest subprocesses, on a small
project with the shapes that matter (a helper module shared by two feature modules,
module-level constants, a session fixture, a conftest, a data file read by a test)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipeline.stages.pytest.impact import PLUGIN_MODULES

TESTING = Path(__file__).resolve().parents[2] / "pipeline" / "testing"
PLUGINS = PLUGIN_MODULES  # what the stage copies into the container beside the plugin

PROJECT = {
    "conftest.py": """
        import pytest

        from app import util

        @pytest.fixture(scope="session")
        def scale():
            return util.scale_factor()
    """,
    "app/__init__.py": "",
    "app/util.py": """
        ROUND = 2

        def scale_factor():
            return 10

        def rounded(x):
            return round(x, ROUND)
    """,
    "app/pricing.py": """
        from app.util import rounded

        TAX = 0.2

        def gross(net):
            return rounded(net * (1 + TAX))

        def discount(net, percent):
            return rounded(net * (100 - percent) / 100)
    """,
    "app/status.py": """
        ALLOWED = {"new": ("paid",), "paid": ("shipped",)}

        def can_move(a, b):
            return b in ALLOWED.get(a, ())
    """,
    "tests/data.json": '{"expected_gross": 12.0}',
    "tests/test_pricing.py": """
        import json
        import pathlib

        from app import pricing

        def test_gross():
            data = json.loads((pathlib.Path(__file__).parent / "data.json").read_text())
            assert pricing.gross(10) == data["expected_gross"]

        def test_discount():
            assert pricing.discount(10, 50) == 5.0

        def test_scaled(scale):
            assert pricing.gross(scale) == 12.0
    """,
    "tests/test_status.py": """
        from app import status

        def test_new_to_paid():
            assert status.can_move("new", "paid")

        def test_no_skip():
            assert not status.can_move("new", "shipped")
    """,
}

# (file, original, replacement): each one caught by some test of a full run, or not.
MUTANTS = [
    ("app/pricing.py", "TAX = 0.2", "TAX = 0.25"),
    ("app/pricing.py", "(100 - percent)", "(100 + percent)"),
    ("app/util.py", "return 10", "return 20"),
    ("app/util.py", "ROUND = 2", "ROUND = -1"),
    ("app/status.py", '"new": ("paid",)', '"new": ("paid", "shipped")'),
    ("app/status.py", "return b in", "return a in"),
    ("conftest.py", "return util.scale_factor()", "return util.scale_factor() + 1"),
    ("tests/data.json", "12.0", "13.0"),
]


def _write(root: Path) -> None:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _pytest(root: Path, out: Path | None, baseline: Path | None = None) -> tuple[set[str], set[str]]:
    """(tests that ran, tests that failed) of one pytest run, from its JUnit XML."""
    plugins = root.parent / "plugins"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
    env.update({"PYTHONPATH": f"{plugins}{os.pathsep}{root}", "PYTHONDONTWRITEBYTECODE": "1"})
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "--junitxml", str(root.parent / "junit.xml"), "-o", "junit_family=xunit1"]
    if out is not None:
        argv += ["-p", "slipway_pytest_impact"]
        env["SLIPWAY_IMPACT_DIR"] = str(out)
        if baseline is not None:
            env["SLIPWAY_IMPACT_BASELINE"] = str(baseline)
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1, 5), proc.stdout[-3000:] + proc.stderr[-3000:]
    ran: set[str] = set()
    failed: set[str] = set()
    for case in ET.parse(root.parent / "junit.xml").iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        ran.add(name)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(name)
    return ran, failed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for source, module in PLUGINS.items():
        shutil.copy(TESTING / source, plugins / f"{module}.py")
    root = tmp_path / "proj"
    _write(root)
    return root


def test_every_mutant_fails_under_the_selection_when_it_fails_in_a_full_run(project: Path) -> None:
    record_dir = project.parent / "record"
    everything, failing = _pytest(project, record_dir)
    assert not failing and len(everything) == 5
    baseline = project.parent / "baseline.json"
    shutil.copy(record_dir / "record.json", baseline)

    unchanged, _ = _pytest(project, project.parent / "same", baseline)
    assert unchanged == set()  # nothing changed: nothing runs

    smaller = 0
    for index, (rel, old, new) in enumerate(MUTANTS):
        path = project / rel
        original = path.read_text()
        assert original.count(old) == 1, (rel, old)
        path.write_text(original.replace(old, new))
        try:
            _, full_failed = _pytest(project, None)
            selected, sel_failed = _pytest(project, project.parent / f"m{index}", baseline)
        finally:
            path.write_text(original)
        assert full_failed, f"mutant {index} ({rel}: {new}) is caught by no test: not a mutant"
        assert sel_failed == full_failed, (index, rel, new, selected)  # 0 missed failures
        smaller += len(selected) < len(everything)
        summary = json.loads((project.parent / f"m{index}" / "selection.json").read_text())["summary"]
        assert summary["deselected"] == len(everything) - len(selected)
    # One-module changes do less work than a full run (the conftest one may not).
    assert smaller >= len(MUTANTS) - 2


def test_a_conftest_change_reruns_what_it_may_affect(project: Path) -> None:
    record_dir = project.parent / "record"
    everything, _ = _pytest(project, record_dir)
    conftest = project / "conftest.py"
    conftest.write_text(conftest.read_text() + "\nEXTRA = 1\n")
    ran, _ = _pytest(project, project.parent / "again", record_dir / "record.json")
    assert ran == everything


def test_a_selective_run_keeps_what_it_left_out_for_the_next_run(project: Path) -> None:
    first = project.parent / "first"
    everything, _ = _pytest(project, first)
    status = project / "app" / "status.py"
    status.write_text(status.read_text().replace("    return b in", "    unused = 1\n    return b in"))
    second = project.parent / "second"
    ran, failed = _pytest(project, second, first / "record.json")
    assert ran == {n for n in everything if "test_status" in n} and not failed
    # The second record still knows the pricing tests it did not run: a third run
    # with nothing changed runs nothing, rather than everything the second left out.
    assert set(json.loads((second / "record.json").read_text())["tests"]) == {
        n.replace("tests.", "tests/").replace("test_pricing::", "test_pricing.py::")
        .replace("test_status::", "test_status.py::") for n in everything
    }
    third, _ = _pytest(project, project.parent / "third", second / "record.json")
    assert third == set()
