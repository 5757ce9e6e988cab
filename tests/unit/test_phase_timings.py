"""A test job's fixed cost phase by phase: the in-container plugin's marks (run here
for real, in a pytest subprocess) lined up with the engine's phases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.stages.pytest.timings import job_phases, read_marks

TESTING = Path(__file__).resolve().parents[2] / "pipeline" / "testing"


def test_the_plugin_marks_each_part_of_a_real_session(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("import time\ntime.sleep(0.3)  # an app's import weight\n")
    (tmp_path / "test_a.py").write_text("import time\n\ndef test_one():\n    time.sleep(0.2)\n\n"
                                        "def test_two():\n    pass\n")
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "slipway_pytest_phases.py").write_text((TESTING / "phases.py").read_text())
    out = tmp_path / "phases.json"
    env = {**os.environ, "PYTHONPATH": str(plugin), "SLIPWAY_PHASES_FILE": str(out)}
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "slipway_pytest_phases", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )
    end = time.time()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    marks = read_marks(out)
    order = ["plugin_loaded", "databases_ready", "conftests_imported", "session_start",
             "first_test_start", "last_test_stop", "session_finish"]
    assert [marks[m] for m in order] == sorted(marks[m] for m in order)
    assert marks["conftests_imported"] - marks["databases_ready"] >= 0.3  # the conftest's import
    assert marks["last_test_stop"] - marks["first_test_start"] >= 0.2
    phases = job_phases({"create": 0.5, "start": 0.1, "source": 1.0, "services": 2.0, "export": 0.2},
                        {"command_start": start, "command_end": end}, marks)
    assert phases["container_create"] == pytest.approx(0.6)
    assert phases["source_copy"] == 1.0 and phases["service_ready"] == 2.0
    assert phases["app_import"] >= 0.3
    assert 0 < phases["interpreter_start"] < phases["to_first_test"]
    # Fixed cost: everything but the tests, engine phases included.
    assert phases["fixed_cost"] == pytest.approx(
        3.8 + phases["to_first_test"] + phases["after_last_test"], abs=0.01
    )
    assert json.loads(out.read_text())["tests"] == 2


def test_missing_marks_are_unknown_not_zero(tmp_path: Path) -> None:
    assert read_marks(tmp_path / "absent.json") == {}
    phases = job_phases({"create": 1.0}, {}, {})
    assert phases["to_first_test"] is None and "fixed_cost" not in phases
    assert phases["container_create"] == 1.0
