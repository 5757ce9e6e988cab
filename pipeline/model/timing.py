"""Where a job's time goes: seconds per named phase, and wall-clock marks.

An engine fills one ``PhaseClock`` per job (container create, source copy, services,
each command, export, cleanup) and returns it with the result; the stage lines the
marks up with what the in-container plugin timed (the same host clock), so that
report.json says phase by phase what a job's fixed cost is made of.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseClock:
    """Seconds per phase (a phase entered twice adds up) and epoch-second marks."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.marks: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - start)

    def add(self, name: str, seconds: float) -> None:
        self.phases[name] = round(self.phases.get(name, 0.0) + seconds, 3)

    def mark(self, name: str) -> None:
        """Now, in seconds since the epoch (comparable with a container's clock)."""
        self.marks[name] = time.time()
