"""Signals while ``run`` prepares (pipeline/model/signals.py): remembered, not lost,
and the handlers put back afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

from pipeline.model import signals
from pipeline.model.outcome import RunStatus
from pipeline.run.execute import _late_signal
from pipeline.scheduler import SchedulerResult


def test_a_signal_while_held_is_remembered_and_handlers_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with signals.held():
        assert not signals.received()
        os.kill(os.getpid(), signal.SIGTERM)  # would end the process under the default
        assert signals.received()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as asyncio leaves it after a receiver
        signals.again()
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_again_outside_held_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    signals.again()
    assert signal.getsignal(signal.SIGTERM) is before


def _green() -> SchedulerResult:
    now = datetime.now(UTC)
    return SchedulerResult(status=RunStatus.SUCCESS, records=[], started=now, finished=now)


def test_a_signal_while_the_run_finishes_ends_it_interrupted_not_green() -> None:
    # The trust driver's miss: a SIGINT while the engine closed and the report was
    # written was remembered by the held handlers and the run still exited 0.
    said: list[object] = []
    with signals.held():
        quiet = _green()
        assert not _late_signal(quiet, said.append)
        assert quiet.status is RunStatus.SUCCESS and said == []
        os.kill(os.getpid(), signal.SIGINT)
        late = _green()
        assert _late_signal(late, said.append)
        assert late.status is RunStatus.INTERRUPTED
        assert len(said) == 1
        assert not _late_signal(late, said.append)  # already interrupted: said once


def test_a_signal_while_the_cli_imports_reaches_the_run() -> None:
    # In a process of its own: hold_early() is for ``python -m pipeline``'s first line.
    code = (
        "import os, signal\n"
        "from pipeline.model import signals\n"
        "signals.hold_early()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "signals.end_early()\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "with signals.held():\n"
        "    assert signals.received(), 'lost'\n"
        "with signals.held():\n"
        "    assert not signals.received(), 'a later run starts afresh'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
