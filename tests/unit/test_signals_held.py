"""Signals while ``run`` prepares (pipeline/model/signals.py): remembered, not lost,
and the handlers put back afterwards."""

from __future__ import annotations

import os
import signal

from pipeline.model import signals


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
