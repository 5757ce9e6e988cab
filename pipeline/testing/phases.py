"""Slipway's phase timer: when each part of a pytest session happened, for the report.

Copied into the test container as ``slipway_pytest_phases`` and loaded with ``-p``
(standard library and pytest only). It writes ``$SLIPWAY_PHASES_FILE`` (JSON, epoch
seconds on the host's clock) at the end of the session:

- ``plugin_loaded``: this module imported (the interpreter, pytest and the ``-p``
  plugins are up);
- ``databases_ready``: every ``pytest_load_initial_conftests`` wrapper's first half
  has run, so Slipway's database plugin has made the template and this process's
  database (it runs in such a wrapper);
- ``conftests_imported``: ``pytest_configure``, after the conftest files (and the
  app they import) were imported;
- ``session_start``, ``first_test_start``, ``last_test_stop``, ``session_finish``;
- ``workers``: the same early marks of every xdist worker (sent back through
  xdist's ``workeroutput``), since workers start, clone their database and import
  the app after the session started.

Unset ``SLIPWAY_PHASES_FILE``: the plugin does nothing.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

FILE_VARIABLE = "SLIPWAY_PHASES_FILE"
LOADED = time.time()
_OUTPUT_KEY = "slipway_phases"


class Phases:
    """The marks of this process, and of the xdist workers when it is the controller."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {"plugin_loaded": LOADED}
        self.workers: dict[str, dict[str, float]] = {}
        self.tests = 0

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.time())

    def test_span(self, start: float | None, stop: float | None) -> None:
        if start is not None:
            self.marks["first_test_start"] = min(self.marks.get("first_test_start", start), start)
        if stop is not None:
            self.marks["last_test_stop"] = max(self.marks.get("last_test_stop", stop), stop)

    def document(self) -> dict[str, Any]:
        return {"marks": self.marks, "workers": self.workers, "tests": self.tests}


_PHASES = Phases()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # A plain implementation: it runs after every wrapper's first half (the databases).
    _PHASES.mark("databases_ready")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _PHASES.mark("conftests_imported")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _PHASES.mark("session_start")


def pytest_collection_finish(session: pytest.Session) -> None:
    _PHASES.mark("collected")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # ``start``/``stop`` are the phase's own times (pytest >= 7), also for reports an
    # xdist worker sent: the controller sees every test's.
    _PHASES.test_span(getattr(report, "start", None), getattr(report, "stop", None))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _PHASES.tests += 1


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    output = getattr(node, "workeroutput", None) or {}
    marks = output.get(_OUTPUT_KEY)
    if isinstance(marks, dict):
        name = str((getattr(node, "workerinput", None) or {}).get("workerid", len(_PHASES.workers)))
        _PHASES.workers[name] = {str(k): float(v) for k, v in marks.items()}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _PHASES.mark("session_finish")
    config = session.config
    if _is_worker(config):
        config.workeroutput[_OUTPUT_KEY] = dict(_PHASES.marks)  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(FILE_VARIABLE)
    if not path or _is_worker(config):
        return
    _PHASES.mark("unconfigure")
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            json.dump(_PHASES.document(), out)
    except OSError as exc:  # timing is a report nicety: it never fails the tests
        print(f"slipway: could not write {path}: {exc}")
