"""SIGINT and SIGTERM between ``run``'s start and the moment the run listens for them.

Loading the config, choosing the engine and opening the stores take seconds on a busy
runner. A ^C then used to be lost (asyncio's own SIGINT handler cancelled a task that
had not started the jobs yet, and the run went on to be green) or to end the process
with no report. While held, a signal is only remembered; the run asks ``received()``
when it starts its jobs and ends interrupted (exit 130, a report) at once. The run's
own handlers (anyio's signal receivers) take over while they are open and put these
back when they close.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []
_holding: list[bool] = []  # inside held(): again() puts _remember back
_carried: list[bool] = []  # hold_early() ran: held() keeps what came while importing


def _remember(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def hold_early() -> None:
    """From the first line of ``python -m pipeline``: importing the CLI takes seconds on
    a loaded runner, and a ^C then must still end a run with its report."""
    _carried.append(True)
    for sig in _SIGNALS:
        signal.signal(sig, _remember)


def end_early() -> None:
    """After the imports: ^C and SIGTERM act again (KeyboardInterrupt, exit 130) until
    a run holds them; what came meanwhile stays remembered for that run's held()."""
    for sig in _SIGNALS:
        signal.signal(sig, signal.default_int_handler)


@contextmanager
def held() -> Iterator[None]:
    """Remember SIGINT/SIGTERM instead of acting on them, until the block ends."""
    if not _carried:
        _received.clear()
    _carried.clear()
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    _holding.append(True)
    again()
    try:
        yield
    finally:
        _holding.pop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def again() -> None:
    """Hold signals again after a receiver of the run's closed (asyncio then leaves the
    defaults, under which a SIGTERM would end the process before the report is written)."""
    if _holding:
        for sig in _SIGNALS:
            signal.signal(sig, _remember)


def received() -> bool:
    """A signal came while held (and no receiver of the run's was listening)."""
    return bool(_received)
