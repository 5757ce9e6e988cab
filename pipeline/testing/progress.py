"""Slipway's progress plugin: tests done / total and failures so far, as they happen.

Runs *inside the test container* beside ``plugin.py`` and, like it, imports only the
standard library and pytest. Slipway copies it in as ``/slipway/slipway_pytest_progress.py``
and runs ``pytest -p slipway_pytest_progress``. Only the process that reports (the
xdist controller, or the only process of a serial run) does anything.

Environment variables (the whole interface):

``SLIPWAY_PROGRESS``
    ``1``: write progress lines to stderr, ``##slipway:progress {"done": 12,
    "total": 300, "failed": 1}``, when the counts change, at most every half
    second, and once more at the end. Slipway's job log keeps lines that start
    with ``##slipway:`` apart from the log (its live view reads them), so they
    are never in the way of pytest's own output, which goes to stdout.
``SLIPWAY_SESSION_FILE``
    A path: at the end of the session, write there pytest's rootdir (which the
    JUnit file's paths are relative to), the final counts and each xdist worker's
    start, end and number of tests (``workers``), for the run's timeline.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

EVENT_PREFIX = "##slipway:"  # the same marker as pipeline/model/joblog.py's (a test checks)
MIN_INTERVAL_S = 0.5  # between two progress lines: enough for a live view, little log


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Progress:
    """Counts tests as the reporting process sees them finish."""

    def __init__(
        self,
        *,
        write: Callable[[str], None] | None,
        session_file: Path | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._session_file = session_file
        self._clock = clock
        self._last = -math.inf
        self._shown: tuple[int, int | None, int] | None = None
        self._failing: set[str] = set()
        self._finished: set[str] = set()
        self.total: int | None = None
        self.done = 0
        self.failed = 0
        self.workers: dict[str, dict[str, Any]] = {}
        self._worker_tests: dict[str, set[str]] = {}

    # -- what is written ---------------------------------------------------------------

    def counts(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "failed": self.failed}

    def emit(self, *, force: bool = False) -> None:
        if self._write is None:
            return
        now = self._clock()
        state = (self.done, self.total, self.failed)
        if state == self._shown or (not force and now - self._last < MIN_INTERVAL_S):
            return
        self._write(f"{EVENT_PREFIX}progress {json.dumps(self.counts())}\n")
        self._last, self._shown = now, state

    def session(self, rootdir: Path) -> dict[str, Any]:
        workers = []
        for worker_id, entry in sorted(self.workers.items()):
            tests = len(self._worker_tests.get(worker_id, ()))
            workers.append({**entry, "finished": entry.get("finished") or _now(), "tests": tests})
        return {"rootdir": str(rootdir), **self.counts(), "workers": workers}

    # -- the reporting process's hooks ---------------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # A serial run collects here; under xdist the controller collects nothing.
        self.total = len(session.items)
        self.emit(force=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects the same tests: the first one to finish says how many.
        if self.total is None:
            self.total = len(ids)
            self.emit(force=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        self.workers[node.gateway.id] = {"worker": node.gateway.id, "started": _now(), "finished": None}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        entry = self.workers.get(node.gateway.id)
        if entry is not None:
            entry["finished"] = _now()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # "rerun" (pytest-rerunfailures) is not failed: only the final attempt counts.
        if report.failed:
            self._failing.add(report.nodeid)
        node = getattr(report, "node", None)  # xdist sets it on the controller
        if node is not None:
            self._worker_tests.setdefault(node.gateway.id, set()).add(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        # After a test's last phase; pytest-rerunfailures says so after each attempt,
        # hence the set: a test is done once, failed if its last attempt failed.
        self._finished.add(nodeid)
        self.done = len(self._finished)
        self.failed = len(self._failing & self._finished)
        self.emit()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.emit(force=True)
        if self._session_file is not None:
            self._session_file.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(self.session(session.config.rootpath), indent=1)
            self._session_file.write_text(data + "\n", encoding="utf-8")


def _stderr(line: str) -> None:
    # Looked up at each call: pytest swaps sys.stderr while it captures a test's
    # output, and the hooks above run between tests, when the real one is back.
    sys.stderr.write(line)
    sys.stderr.flush()


def pytest_configure(config: pytest.Config) -> None:
    # xdist gives a worker's config its workerinput; PYTEST_XDIST_WORKER is not a test,
    # since a pytest started from inside a worker's test inherits it.
    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # a worker's tests are reported by the controller
    wanted = os.environ.get("SLIPWAY_PROGRESS") == "1"
    session_file = os.environ.get("SLIPWAY_SESSION_FILE") or None
    if not wanted and session_file is None:
        return
    progress = Progress(
        write=_stderr if wanted else None,
        session_file=Path(session_file) if session_file else None,
    )
    config.pluginmanager.register(progress, "slipway-progress")
