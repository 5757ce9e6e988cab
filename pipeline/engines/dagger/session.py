"""One Dagger session for a run: opened on first use, checked, and closed without fail.

- The target (``connection.DaggerTarget``) says how to reach the engine; its variables
  go into this process's environment, which the SDK and the CLI it starts read.
- The engine's version must be dagger-io's: a mismatch is a clear error at connect,
  not a confusing failure later.
- The session's own progress (every query, and each command's output as it runs) is
  streamed, redacted and without colours, to ``logs/dagger-session.log``: dagger-io
  gives a command's output only when it ends, so this is where a run is watched live.
- Closing never raises and never waits long: a run must write its report after ^C
  (``dagger run`` kills us 10 s after its SIGTERM) and after the engine died. dagger-io
  closes its ``dagger session`` CLI by closing its stdin and waiting up to 300 s, in a
  thread no cancel reaches; a CLI whose engine died never exits, so the run's process
  hung after its report. The CLI is therefore killed if it is still there after
  ``CLOSE_TIMEOUT_S``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager, suppress
from pathlib import Path
from typing import TextIO, cast

import anyio
import dagger
import psutil
from dagger import dag

from pipeline.engines.dagger.connection import DaggerTarget, candidates, container_state
from pipeline.engines.dagger.errors import INSTALL_HELP, dagger_errors
from pipeline.engines.dagger.watchdog import ALIVE, Sign, Watchdog
from pipeline.engines.select import sdk_version, version_mismatch
from pipeline.model.errors import EngineUnavailable
from pipeline.model.secrets import Redactor

# Two steps of at most this each: well within the 10 s `dagger run` gives after SIGTERM.
CLOSE_TIMEOUT_S = 3.0
# How long the watchdog waits for the engine's version: a busy engine answers in well
# under a second; two misses in a row are a lost engine (``watchdog``).
VERSION_TIMEOUT_S = 20.0
SESSION_LOG = "dagger-session.log"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class SessionLog(io.TextIOBase):
    """The CLI's progress, line by line: colours stripped, secrets masked, appended.

    It has no file descriptor on purpose: the SDK then drains the CLI's stderr through
    ``write`` (in a thread) instead of handing the file to the CLI unfiltered.
    """

    def __init__(self, path: Path, redactor: Redactor) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8", errors="replace")
        self._redact = redactor
        self._buf = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            if self._fh.closed:
                return len(text)
            self._buf += text
            *lines, self._buf = self._buf.split("\n")
            for line in lines:
                self._fh.write(self._redact(_ANSI.sub("", line)) + "\n")
            self._fh.flush()
        return len(text)

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                if self._buf:
                    self._fh.write(self._redact(_ANSI.sub("", self._buf)) + "\n")
                self._fh.close()
        super().close()


@contextmanager
def session_environment(values: Mapping[str, str]) -> Iterator[None]:
    """These variables in this process's environment while a session starts: the SDK reads
    them, and the CLI it starts inherits them. Restored after, so nothing else sees them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def session_clis() -> list[psutil.Process]:
    """The ``dagger session`` CLIs dagger-io started as this process's children."""
    found = []
    for child in psutil.Process().children():
        with suppress(psutil.Error):
            if child.cmdline()[1:2] == ["session"]:
                found.append(child)
    return found


def kill_all(processes: Sequence[psutil.Process]) -> None:
    for proc in processes:
        with suppress(psutil.Error):  # gone already (psutil checks the pid was not reused)
            proc.kill()


def default_target(environ: Mapping[str, str]) -> DaggerTarget:
    """Where to connect when no choice was made up front (the first candidate)."""
    found = candidates(environ, which=lambda name: shutil.which(name, path=environ.get("PATH")))
    if not found:
        raise EngineUnavailable(f"no Dagger session, engine or CLI here: {INSTALL_HELP}")
    return found[0]


class Session:
    """The run's session on one engine; ``ensure`` opens it once, ``close`` ends it."""

    def __init__(
        self,
        target: DaggerTarget | None,
        *,
        environ: Mapping[str, str],
        redactor: Redactor,
        log_dir: Path | None = None,
    ) -> None:
        self._target = target
        self._environ = environ
        self._redactor = redactor
        self._log_dir = log_dir
        self._stack = AsyncExitStack()
        self._lock = anyio.Lock()
        self.open = False
        self.engine_version = ""
        self._used: DaggerTarget | None = None
        self._clis: list[psutil.Process] = []
        self.watchdog = Watchdog(self._probe)

    async def ensure(self) -> None:
        async with self._lock:
            if self.open:
                return
            target = self._target or default_target(self._environ)
            log = None
            if self._log_dir is not None and target.kind != "session":
                log = SessionLog(self._log_dir / SESSION_LOG, self._redactor)
                self._stack.callback(log.close)
            try:
                async with dagger_errors("connect to the Dagger engine"):
                    config = dagger.Config(log_output=cast(TextIO, log), retry=dagger.Retry(execute=False))
                    before = {proc.pid for proc in session_clis()}  # another session's is not ours
                    with session_environment(target.session_env()):
                        await self._stack.enter_async_context(dagger.connection(config))
                    self._clis = [proc for proc in session_clis() if proc.pid not in before]
                    self.engine_version = await dag.version()
            except Exception as exc:
                await self.close()
                raise EngineUnavailable(
                    f"cannot open a session on {target.description}: {exc}; {INSTALL_HELP}"
                ) from exc
            mismatch = version_mismatch(self.engine_version, sdk_version())
            if mismatch:
                await self.close()
                raise EngineUnavailable(f"{target.description}: {mismatch}")
            self._used = target
            self.open = True

    async def _probe(self) -> Sign:
        """The watchdog's look: the engine's container when Docker here runs it, else
        the engine's version through the session, within ``VERSION_TIMEOUT_S``."""
        runner_host = self._used.runner_host if self._used else None
        stopped = await anyio.to_thread.run_sync(container_state, runner_host)
        if stopped is not None:
            return Sign(alive=False, why=stopped, certain=True)
        with anyio.move_on_after(VERSION_TIMEOUT_S):
            try:
                await dag.version()
            except Exception as exc:  # any failure to answer is a miss; two in a row, lost
                return Sign(alive=False, why=f"the engine does not answer ({exc})")
            return ALIVE
        return Sign(alive=False, why=f"the engine did not answer within {VERSION_TIMEOUT_S:.0f}s")

    async def close(self) -> None:
        """End the session (the engine stops its services); never raises, never hangs."""
        self.open = False
        stuck = threading.Timer(CLOSE_TIMEOUT_S, kill_all, args=(self._clis,))
        stuck.daemon = True
        stuck.start()
        try:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S), suppress(Exception):
                await self._stack.aclose()
        finally:
            stuck.cancel()
        # `dag` is process-wide: a session that did not close cleanly must not be reused.
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S), suppress(Exception):
            await dagger.close()
        self._stack = AsyncExitStack()
