"""A job's log file: every line goes through the run's redactor, and is flushed at once.

Exec output is written from a worker thread while the event loop writes engine
messages (service readiness, exports), hence the lock; lines that arrive after
the job finished (an abandoned stream on cancellation) are dropped.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from pipeline.model.secrets import Redactor

ENGINE_PREFIX = "[slipway] "


class JobLog:
    """Append-only, line-based, redacted log of one job."""

    def __init__(self, path: Path, redactor: Redactor) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._redact = redactor
        self._lock = threading.Lock()
        self._fh = path.open("a", encoding="utf-8", errors="replace")

    def line(self, text: str) -> None:
        """One line of command output."""
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(self._redact(text.rstrip("\n")) + "\n")
            self._fh.flush()

    def engine(self, text: str) -> None:
        """A line from the engine itself (what it does, why it stopped)."""
        self.line(ENGINE_PREFIX + text)

    def close(self) -> None:
        with self._lock:
            self._fh.close()

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
