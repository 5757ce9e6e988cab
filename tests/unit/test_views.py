"""What the command line shows of a run: the job board, plain lines (and CI's streamed,
grouped logs), the live table, and which of them ``--progress auto`` picks."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from pipeline.commands.view import ProgressMode, choose, line_writer
from pipeline.commands.view.board import Board
from pipeline.commands.view.live import LiveView, duration_text
from pipeline.commands.view.plain import PROGRESS_EVERY_S, PlainView
from pipeline.run.events import (
    CiLine,
    JobFinished,
    JobOutput,
    JobStarted,
    Note,
    PlannedJob,
    RunEvent,
    RunStarted,
    TestProgress,
)

START = RunStarted(
    run_id="r1",
    jobs=(
        PlannedJob(name="build", stage="build", kind="build", shard=None, needs=()),
        PlannedJob(name="tests", stage="tests", kind="pytest", shard=None, needs=()),
        PlannedJob(name="deploy", stage="deploy", kind="deploy", shard=None, needs=("tests",)),
    ),
    critical_path=("tests", "deploy"),
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_board_follows_a_job_from_waiting_to_its_end() -> None:
    clock = Clock()
    board = Board(clock)
    board.apply(START)
    tests = board.jobs["tests"]
    assert (tests.status, tests.critical, board.elapsed(tests)) == ("waiting", True, None)
    board.apply(JobStarted(job="tests"))
    clock.now += 12.5
    board.apply(TestProgress(job="tests", done=4, total=10, failed=1))
    board.apply(JobOutput(job="tests", line="....F"))
    board.apply(JobOutput(job="tests", line="   "))  # a blank line keeps the last one shown
    assert (tests.status, board.elapsed(tests), tests.done, tests.failed) == ("running", 12.5, 4, 1)
    assert tests.last_line == "....F"
    board.apply(JobFinished(job="tests", status="failed", duration_s=13.0, detail="1 failed", log=None,
                            started=True))
    clock.now += 60
    assert (tests.status, board.elapsed(tests), tests.finished) == ("failed", 13.0, True)
    board.apply(JobFinished(job="deploy", status="skipped", duration_s=0.0, detail="needs tests", log=None,
                            started=False))
    assert board.elapsed(board.jobs["deploy"]) is None
    assert board.counts() == {"waiting": 1, "failed": 1, "skipped": 1}


def events_of_a_run(log: Path) -> list[RunEvent]:
    log.write_text("collected 10 items\n::error::printed by a test\nFAILED test_x.py::test_b\n")
    return [
        START,
        JobStarted(job="tests"),
        JobOutput(job="tests", line="collected 10 items"),
        TestProgress(job="tests", done=0, total=10, failed=0),
        TestProgress(job="tests", done=5, total=10, failed=1),
        JobOutput(job="tests", line="::error::printed by a test"),
        JobFinished(job="tests", status="failed", duration_s=3.25, detail="1 failed", log=log, started=True),
        JobFinished(job="deploy", status="skipped", duration_s=0.0, detail="needs tests", log=None,
                    started=False),
        Note(text="coverage 50.0% is below the threshold 80.0%"),
        CiLine(text="::error file=test_x.py,line=3,title=test_b failed::boom"),
    ]


def plain(env: dict[str, str], clock: Clock | None = None) -> tuple[PlainView, list[str]]:
    lines: list[str] = []
    return PlainView(lines.append, env=env, clock=clock or Clock()), lines


def test_plain_lines_outside_ci_say_starts_ends_and_counts(tmp_path: Path) -> None:
    view, lines = plain({})
    for event in events_of_a_run(tmp_path / "tests.log"):
        view(event)
    assert lines == [
        "critical path (expected): tests → deploy",
        "[start] tests",
        "[tests] tests 0/10 done, 0 failed",
        "[failed] tests 3.2s  (1 failed)",
        "[skipped] deploy  (needs tests)",
        "coverage 50.0% is below the threshold 80.0%",
        "::error file=test_x.py,line=3,title=test_b failed::boom",
    ]


def test_counts_are_said_every_few_seconds_not_at_every_test() -> None:
    clock = Clock()
    view, lines = plain({}, clock)
    view(START)
    for done in range(10):  # 4.5 s of tests, a progress event every half second
        view(TestProgress(job="tests", done=done, total=10, failed=0))
        clock.now += 0.5
    clock.now += PROGRESS_EVERY_S
    view(TestProgress(job="tests", done=10, total=10, failed=0))
    assert [line for line in lines if line.startswith("[tests]")] == [
        "[tests] tests 0/10 done, 0 failed",
        "[tests] tests 10/10 done, 0 failed",
    ]


def test_github_streams_prefixed_lines_and_groups_each_whole_log_behind_the_guard(tmp_path: Path) -> None:
    view, lines = plain({"CI": "true", "GITHUB_ACTIONS": "true"})
    for event in events_of_a_run(tmp_path / "tests.log"):
        view(event)
    streamed = [line for line in lines if line.startswith("tests  | ")]
    assert streamed == ["tests  | collected 10 items", "tests  | ::error::printed by a test"]
    start = lines.index("[failed] tests 3.2s  (1 failed)")
    group = lines[start + 1 :]
    assert group[0] == f"::group::tests: failed 3.2s (log {tmp_path / 'tests.log'})"
    assert group[1].startswith("::stop-commands::")
    token = group[1].removeprefix("::stop-commands::")
    assert len(token) >= 16
    assert group[2:5] == ["collected 10 items", "::error::printed by a test", "FAILED test_x.py::test_b"]
    assert group[5:7] == [f"::{token}::", "::endgroup::"]
    # What GitHub obeys: only our annotation, never a line a test printed.
    assert obeyed_errors(lines) == ["::error file=test_x.py,line=3,title=test_b failed::boom"]


def obeyed_errors(lines: list[str]) -> list[str]:
    """The ``::error`` lines GitHub's runner would act on: at a line's start, outside a
    stop-commands section."""
    obeyed, stopped = [], None
    for line in lines:
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.removeprefix("::stop-commands::")
        elif line.startswith("::error"):
            obeyed.append(line)
    return obeyed


def test_woodpecker_gets_plain_headers_and_gitlab_sections(tmp_path: Path) -> None:
    view, lines = plain({"CI": "woodpecker"})
    for event in events_of_a_run(tmp_path / "tests.log"):
        view(event)
    assert f"--- tests: failed 3.2s (log {tmp_path / 'tests.log'}) ---" in lines
    assert not [line for line in lines if line.startswith("::group")]
    view, lines = plain({"CI": "true", "GITLAB_CI": "true"})
    for event in events_of_a_run(tmp_path / "tests.log"):
        view(event)
    assert any("section_start:" in line and "tests: failed" in line for line in lines)
    assert any("section_end:" in line for line in lines)


def test_the_live_table_shows_states_times_counts_and_the_critical_path() -> None:
    console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system=None)
    clock = Clock()
    view = LiveView(console, clock=clock)
    try:
        view(START)
        view(JobStarted(job="build"))
        view(JobStarted(job="tests"))
        clock.now += 75
        view(TestProgress(job="tests", done=12, total=30, failed=2))
        view(JobOutput(job="build", line="Step 3/9 : RUN pip install"))
        frame = Console(width=140, color_system=None)
        with frame.capture() as captured:
            frame.print(view.render())
    finally:
        view.close()
    text = captured.get()
    rows = {line.split()[1] if line.startswith("★") else line.split()[0]: line for line in text.splitlines()
            if line.strip()}
    assert "★" in rows["tests"] and "★" not in rows["build"]
    assert "running" in rows["tests"] and "1m15s" in rows["tests"]
    assert "12/30 tests, 2 failed" in rows["tests"]
    assert "Step 3/9 : RUN pip install" in rows["build"]
    assert "waiting" in rows["deploy"]
    assert "2 running" in text and "1 waiting" in text


def test_a_failure_and_notes_are_printed_above_the_table(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    view = LiveView(console)
    view(START)
    view(Note(text="cache: local /tmp/x"))
    view(JobFinished(job="tests", status="failed", duration_s=1.0, detail="1 failed", log=tmp_path / "t.log",
                     started=True))
    view.close()
    assert "cache: local /tmp/x" in out.getvalue()
    assert f"✘ tests failed: 1 failed · log {tmp_path / 't.log'}" in out.getvalue()


def test_durations_read_like_a_clock() -> None:
    assert duration_text(None) == ""
    assert duration_text(4.25) == "4.2s"
    assert duration_text(125.0) == "2m05s"


def test_auto_picks_the_live_table_only_on_a_terminal_outside_ci() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert choose(ProgressMode.auto, terminal, {}) is ProgressMode.rich
    assert choose(ProgressMode.auto, terminal, {"CI": "true"}) is ProgressMode.plain
    assert choose(ProgressMode.auto, pipe, {}) is ProgressMode.plain
    assert choose(ProgressMode.rich, pipe, {"CI": "true"}) is ProgressMode.rich
    assert choose(ProgressMode.plain, terminal, {}) is ProgressMode.plain


def test_plain_lines_are_written_as_they_are() -> None:
    out = io.StringIO()
    write = line_writer(out)
    write("tests | [bold]:x: not markup[/]")
    assert out.getvalue() == "tests | [bold]:x: not markup[/]\n"
