"""A job's log file: every line goes through the run's redactor, and is flushed at once.

Exec output is written from a worker thread while the event loop writes engine
messages (service readiness, exports), hence the lock; lines that arrive after
the job finished (an abandoned stream on cancellation) are dropped.

Lines that start with ``EVENT_PREFIX`` are events a job's process reports to
Slipway (the pytest progress plugin's ``##slipway:progress {...}``), not output:
they go to a file of their own beside the log (``events_path``), which the run's
live view follows, so a person reading the log never sees them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TextIO

from pipeline.model.secrets import Redactor

ENGINE_PREFIX = "[slipway] "
EVENT_PREFIX = "##slipway:"


def events_path(log_path: Path) -> Path:
    """The file beside a job's log that holds the job's event lines."""
    return log_path.with_name(log_path.name + ".events")


class JobLog:
    """Append-only, line-based, redacted log of one job."""

    def __init__(self, path: Path, redactor: Redactor) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._redact = redactor
        self._lock = threading.Lock()
        self._fh = path.open("a", encoding="utf-8", errors="replace")
        self._events: TextIO | None = None  # opened at the first event: most jobs have none
        self._closed = False

    def line(self, text: str) -> None:
        """One line of command output (or an event line, kept apart)."""
        with self._lock:
            if self._closed:
                return
            fh: TextIO = self._fh
            if text.startswith(EVENT_PREFIX):
                if self._events is None:
                    self._events = events_path(self.path).open("a", encoding="utf-8", errors="replace")
                fh = self._events
            with self._named():
                fh.write(self._redact(text.rstrip("\n")) + "\n")
                fh.flush()

    def engine(self, text: str) -> None:
        """A line from the engine itself (what it does, why it stopped)."""
        self.line(ENGINE_PREFIX + text)

    def close(self) -> None:
        with self._lock, self._named():
            self._closed = True
            try:
                self._fh.close()
            finally:
                if self._events is not None:
                    self._events.close()

    @contextmanager
    def _named(self) -> Iterator[None]:
        """A write that fails (a full disk) names this log: Python's own error names no file."""
        try:
            yield
        except OSError as exc:
            if exc.filename is not None:
                raise
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def __enter__(self) -> JobLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LineSplitter:
    """Turns a stream of byte chunks into whole lines, so a secret split across two
    chunks is still masked (the redactor sees whole lines)."""

    def __init__(self, log: JobLog) -> None:
        self._log = log
        self._buf = b""

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            self._log.line(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def flush(self) -> None:
        if self._buf:
            self._log.line(self._buf.decode("utf-8", errors="replace"))
            self._buf = b""
