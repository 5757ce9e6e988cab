"""The run as plain lines: where no terminal shows a live view (a pipe, a file, CI).

Every job's start and end (``[start] NAME``, ``[success] NAME 12.3s  (detail)``),
and a test job's counts every ``PROGRESS_EVERY_S`` while they move. In CI (the
``CI`` variable, which GitHub, GitLab and Woodpecker all set) each job's log is
also streamed as it is written, each line prefixed with its job's name (parallel
jobs interleave, so a bare line would not say whose it is; a prefixed line also
never starts with ``::``, so a test's output cannot pass for a workflow command),
and at each job's end its whole log follows in one collapsible group
(``::group::`` in GitHub, a section in GitLab, a ``--- NAME ---`` header elsewhere),
inside GitHub's stop-commands guard. The stream is for watching a run; the
groups, one per job and whole, are for reading it afterwards.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline.commands.view.board import Board, JobState
from pipeline.reports.github import ci_flavor, log_group
from pipeline.run.events import (
    CiLine,
    JobFinished,
    JobOutput,
    JobStarted,
    Note,
    RunEvent,
    RunStarted,
    TestProgress,
)

PROGRESS_EVERY_S = 5.0
_LOG_LIMIT_BYTES = 8 * 1024 * 1024  # of a job's log in its group; the file has the rest


def in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").lower() not in ("", "0", "false", "no")


class PlainView:
    """Renders run events as lines through ``write`` (one line per call, no newline)."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._board = Board(clock)
        self._clock = clock
        self._stream = in_ci(env)
        self._flavor = ci_flavor(env)
        self._token = secrets.token_hex(12)  # GitHub's stop-commands guard for log groups
        self._shown_at: dict[str, float] = {}
        self._width = 0

    def __call__(self, event: RunEvent) -> None:
        state = self._board.apply(event)
        if isinstance(event, RunStarted):
            self._width = max((len(j.name) for j in event.jobs), default=0)
            if event.critical_path:
                self._write(f"critical path (expected): {' → '.join(event.critical_path)}")
        elif isinstance(event, JobStarted):
            self._write(f"[start] {event.job}")
        elif isinstance(event, JobOutput):
            if self._stream:
                self._write(f"{event.job.ljust(self._width)} | {event.line}")
        elif isinstance(event, TestProgress) and state is not None:
            self._progress(state)
        elif isinstance(event, JobFinished) and state is not None:
            self._finished(event, state)
        elif isinstance(event, Note | CiLine):
            self._write(event.text)

    def close(self) -> None:
        """Nothing is held back: every line was written when its event came."""

    def _progress(self, state: JobState) -> None:
        now = self._clock()
        last = self._shown_at.get(state.name)
        if last is not None and now - last < PROGRESS_EVERY_S:
            return
        self._shown_at[state.name] = now
        total = state.total if state.total is not None else "?"
        self._write(f"[tests] {state.name} {state.done}/{total} done, {state.failed} failed")

    def _finished(self, event: JobFinished, state: JobState) -> None:
        took = f" {event.duration_s:.1f}s" if event.started else ""
        detail = f"  ({event.detail})" if event.detail else ""
        self._write(f"[{event.status}] {event.job}{took}{detail}")
        if self._stream and event.started and event.log is not None:
            title = f"{event.job}: {event.status}{took} (log {event.log})"
            with log_group(title, flavor=self._flavor, write=self._write, guard_token=self._token):
                for line in _log_lines(event.log):
                    self._write(line)


def _log_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            data = handle.read(_LOG_LIMIT_BYTES + 1)
    except OSError as exc:
        return [f"(the log cannot be read: {exc})"]
    lines = data[:_LOG_LIMIT_BYTES].decode("utf-8", errors="replace").splitlines()
    if len(data) > _LOG_LIMIT_BYTES:
        lines.append(f"... (cut at {_LOG_LIMIT_BYTES // (1024 * 1024)} MiB: the whole log is {path})")
    return lines
