"""The run as a live table on a terminal (rich): one row per job with its state, the
time it has run, and for a test job the tests done / total and failures so far, as
the progress plugin reports them; the critical path is starred and bold. Notes and
each failure are printed above the table; the last table stays on the screen."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipeline.commands.view.board import RUNNING, WAITING, Board, JobState
from pipeline.run.events import CiLine, JobFinished, Note, RunEvent

REFRESH_PER_SECOND = 4
_STYLE = {
    WAITING: "dim",
    RUNNING: "bold yellow",
    "success": "green",
    "cached": "magenta",
    "failed": "bold red",
    "skipped": "dim",
}
_ICON = {WAITING: "·", RUNNING: "▶", "success": "✔", "cached": "♻", "failed": "✘", "skipped": "-"}
_BAR_WIDTH = 20


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


def tests_text(state: JobState) -> Text:
    """``[####      ] 12/30 tests, 1 failed`` for a job that reports tests."""
    if not state.has_tests:
        return Text("")
    total = state.total
    text = Text()
    if total:
        filled = min(_BAR_WIDTH, round(_BAR_WIDTH * state.done / total))
        text.append("█" * filled, style="red" if state.failed else "green")
        text.append("░" * (_BAR_WIDTH - filled), style="dim")
        text.append(" ")
    text.append(f"{state.done}/{total if total is not None else '?'} tests")
    if state.failed:
        text.append(f", {state.failed} failed", style="bold red")
    return text


class LiveView:
    """A rich ``Live`` table of the run, redrawn ``REFRESH_PER_SECOND`` times a second."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._board = Board(clock)
        self._live = Live(
            get_renderable=self.render,
            console=console,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=False,
        )
        self._live.start()

    def __call__(self, event: RunEvent) -> None:
        state = self._board.apply(event)
        if isinstance(event, Note | CiLine):
            self._console.print(event.text, markup=False, highlight=False)
        elif isinstance(event, JobFinished) and state is not None and event.status == "failed":
            where = f" · log {event.log}" if event.log else ""
            self._console.print(Text(f"✘ {event.job} failed: {event.detail}{where}", style="red"))

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()

    def render(self) -> RenderableType:
        board = self._board
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("", "job", "state", "time", "tests", "output"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        for state in board.jobs.values():
            style = _STYLE.get(state.status, "")
            name = Text(state.name, style="bold" if state.critical else "")
            table.add_row(
                Text("★" if state.critical else " ", style="yellow"),
                name,
                Text(f"{_ICON.get(state.status, '?')} {state.status}", style=style),
                duration_text(board.elapsed(state)),
                tests_text(state),
                Text(state.last_line if state.status == RUNNING else state.detail, style="dim"),
            )
        counts = board.counts()
        summary = " · ".join(f"{n} {status}" for status, n in counts.items())
        footer = Text(f"run {board.run_id} · {summary}", style="dim")
        if board.critical_path:
            footer.append("   ★ critical path", style="yellow")
        return Group(table, footer)
