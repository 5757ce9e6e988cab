"""How a run is shown while it runs (``run --progress``): a live table on a terminal
(``live``), plain lines elsewhere, with each job's log streamed and grouped in CI
(``plain``); both draw from the same job states (``board``). The run layer emits the
events (``pipeline/run/events.py``); nothing here runs anything.

``auto`` picks the live view when stderr (where progress goes; stdout keeps the
summary for machines) is a terminal that can redraw and no CI is set, plain lines
otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import IO, Protocol

from rich.console import Console

from pipeline.commands.view.live import LiveView
from pipeline.commands.view.plain import PlainView, in_ci
from pipeline.run.events import RunEvent


class ProgressMode(StrEnum):
    auto = "auto"
    plain = "plain"
    rich = "rich"


class View(Protocol):
    def __call__(self, event: RunEvent) -> None: ...

    def close(self) -> None: ...


def choose(mode: ProgressMode, console: Console, env: Mapping[str, str]) -> ProgressMode:
    """``plain`` or ``rich`` for ``mode`` on ``console``."""
    if mode is not ProgressMode.auto:
        return mode
    live = console.is_terminal and not console.is_dumb_terminal and not in_ci(env)
    return ProgressMode.rich if live else ProgressMode.plain


def line_writer(stream: IO[str]) -> Callable[[str], None]:
    """Write whole lines as they are: no markup, emoji codes or wrapping (a log line
    with ``:x:`` in it stays as it is), flushed so that CI shows each one at once."""

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return write


@contextmanager
def open_view(
    mode: ProgressMode, *, console: Console, env: Mapping[str, str] | None = None
) -> Iterator[View]:
    """The view for ``mode``, closed (the live table's last frame left on screen) at exit."""
    env = os.environ if env is None else env
    view: View
    if choose(mode, console, env) is ProgressMode.rich:
        view = LiveView(console)
    else:
        view = PlainView(line_writer(console.file), env=env)
    try:
        yield view
    finally:
        view.close()
