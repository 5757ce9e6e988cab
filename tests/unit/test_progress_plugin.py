"""The progress plugin (pipeline/testing/progress.py) in a real pytest, serial and under
xdist: counts that move as tests finish, failures so far, the final line, pytest's
rootdir and each worker's timings in the session file; nothing from the workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.model.joblog import EVENT_PREFIX as LOG_EVENT_PREFIX
from pipeline.stages.pytest.session import session_data
from pipeline.testing import progress

TESTS = """\
import os
import time

import pytest


@pytest.mark.parametrize("i", range(8))
def test_slow(i):
    time.sleep(0.15)


def test_fails():
    assert 1 + 1 == 3


def test_flaky_then_passes(tmp_path_factory):
    marker = os.path.join(os.environ["FLAKY_DIR"], "once")
    if not os.path.exists(marker):
        open(marker, "w").close()
        assert False, "first attempt"
"""


def run_pytest(tmp_path: Path, *args: str) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_demo.py").write_text(TESTS)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(progress.__file__, plugins / "slipway_pytest_progress.py")
    flaky = tmp_path / "flaky"
    flaky.mkdir()
    session_file = tmp_path / "out" / "session.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(plugins),
        "SLIPWAY_PROGRESS": "1",
        "SLIPWAY_SESSION_FILE": str(session_file),
        "FLAKY_DIR": str(flaky),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "slipway_pytest_progress", "-p", "no:cacheprovider",
         "--reruns", "1", "-q", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    events = [
        json.loads(line[len(progress.EVENT_PREFIX + "progress "):])
        for line in proc.stderr.splitlines()
        if line.startswith(progress.EVENT_PREFIX + "progress ")
    ]
    assert progress.EVENT_PREFIX not in proc.stdout, "progress goes to stderr, apart from pytest's output"
    return events, json.loads(session_file.read_text()), proc.stdout


@pytest.mark.parametrize("workers", ["0", "2"])
def test_counts_move_as_tests_finish_and_end_exact(tmp_path: Path, workers: str) -> None:
    events, session, _ = run_pytest(tmp_path, "-n", workers)
    assert events[0] == {"done": 0, "total": 10, "failed": 0}  # collected, nothing run yet
    assert events[-1] == {"done": 10, "total": 10, "failed": 1}
    done = [e["done"] for e in events]
    assert done == sorted(done)
    assert any(0 < d < 10 for d in done), f"no count between start and end: {done}"
    # The flaky test failed once and passed on its rerun: not a failure, and done once.
    assert max(e["failed"] for e in events) == 1
    assert session["rootdir"] == str((tmp_path / "project").resolve())
    assert (session["done"], session["total"], session["failed"]) == (10, 10, 1)
    data = session_data(tmp_path / "out")  # what the pytest stage puts in report.json
    assert data["pytest_rootdir"] == session["rootdir"]
    if workers == "0":
        assert session["workers"] == [] and "worker_timings" not in data
        return
    assert data["worker_timings"] == session["workers"]
    assert sorted(w["worker"] for w in session["workers"]) == ["gw0", "gw1"]
    assert sum(w["tests"] for w in session["workers"]) == 10
    for worker in session["workers"]:
        assert datetime.fromisoformat(worker["started"]) <= datetime.fromisoformat(worker["finished"])


def test_lines_are_throttled_but_the_last_is_always_written() -> None:
    now = [0.0]
    lines: list[str] = []
    counter = progress.Progress(write=lines.append, session_file=None, clock=lambda: now[0])
    counter.total = 100
    counter.emit(force=True)
    for i in range(50):  # 50 tests within 0.1 s: one line, not fifty
        now[0] += 0.002
        counter.pytest_runtest_logfinish(f"t{i}", None)
    assert len(lines) == 1
    now[0] += progress.MIN_INTERVAL_S
    counter.pytest_runtest_logfinish("t50", None)
    assert len(lines) == 2 and '"done": 51' in lines[-1]
    counter.emit(force=True)  # nothing changed: nothing to say
    assert len(lines) == 2


def test_the_plugin_and_the_job_log_agree_on_the_marker() -> None:
    # Two copies on purpose (the plugin imports nothing of ours); they must not drift.
    assert progress.EVENT_PREFIX == LOG_EVENT_PREFIX


def test_no_session_file_no_data(tmp_path: Path) -> None:
    assert session_data(tmp_path) == {}  # pytest died before the end of its session
    (tmp_path / "session.json").write_text("{half")
    assert session_data(tmp_path) == {}
