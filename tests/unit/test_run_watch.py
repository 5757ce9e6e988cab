"""Watching jobs while they run: the job log keeps event lines apart, files are followed
line by line, and the scheduler's records plus those lines become events in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio

from pipeline.model.joblog import JobLog, LineSplitter, events_path
from pipeline.model.outcome import JobStatus
from pipeline.model.secrets import Redactor
from pipeline.plan import Job, Plan
from pipeline.run.events import (
    JobFinished,
    JobOutput,
    JobStarted,
    RunEvent,
    RunStarted,
    TestProgress,
)
from pipeline.run.watch import JobWatch, Tail, progress_of
from pipeline.scheduler import JobRecord

PROGRESS = '##slipway:progress {"done": 3, "total": 10, "failed": 1}'


def test_the_job_log_keeps_event_lines_apart_and_redacts_both(tmp_path: Path) -> None:
    log_path = tmp_path / "logs" / "tests.log"
    with JobLog(log_path, Redactor(["hunter2"])) as log:
        lines = LineSplitter(log)
        lines.feed(b"collected 10 items\n" + PROGRESS.encode() + b"\npassword hunter2\n")
        lines.feed(b'##slipway:progress {"done": 4, "total": 10, "failed": 1, "x": "hunter2"}\n')
    text = log_path.read_text()
    assert text == "collected 10 items\npassword ***\n"
    events = events_path(log_path).read_text().splitlines()
    assert events == [PROGRESS, '##slipway:progress {"done": 4, "total": 10, "failed": 1, "x": "***"}']


def test_no_events_file_for_a_job_without_events(tmp_path: Path) -> None:
    with JobLog(tmp_path / "a.log", Redactor()) as log:
        log.line("hello")
    assert not events_path(tmp_path / "a.log").exists()


def test_a_tail_gives_whole_lines_and_rereads_a_rewritten_file(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    tail = Tail(path)
    assert tail.lines() == []  # not there yet
    path.write_bytes(b"one\ntw")
    assert tail.lines() == ["one"]
    with path.open("ab") as handle:
        handle.write("o\nthr\u00e9e".encode())
    assert tail.lines() == ["two"]
    assert tail.lines(final=True) == ["thr\u00e9e"]  # the end of a job: the rest, newline or not
    path.write_bytes(b"restored\n")  # shorter: a cached job's log put back in place
    assert tail.lines() == ["restored"]


def test_progress_lines_and_lookalikes() -> None:
    assert progress_of("t", PROGRESS) == TestProgress(job="t", done=3, total=10, failed=1)
    assert progress_of("t", '##slipway:progress {"done": 0, "total": null, "failed": 0}') == TestProgress(
        job="t", done=0, total=None, failed=0
    )
    assert progress_of("t", "##slipway:progress not json") is None
    assert progress_of("t", '##slipway:progress {"total": 3}') is None
    assert progress_of("t", "collected 10 items") is None


def plan() -> Plan:
    return Plan(
        jobs=(
            Job(name="tests", stage="tests", kind="pytest"),
            Job(name="deploy", stage="deploy", kind="deploy", needs=("tests",)),
        )
    )


def test_records_and_log_lines_become_events_in_order(tmp_path: Path) -> None:
    events: list[RunEvent] = []
    watch = JobWatch(events.append)
    watch.run_started(plan(), "run-1")
    assert isinstance(events[0], RunStarted) and [j.name for j in events[0].jobs] == ["tests", "deploy"]
    assert events[0].critical_path == ("tests", "deploy")

    log = tmp_path / "tests.log"
    log.write_text("")
    tests = JobRecord(job=plan().jobs[0], started=datetime.now(UTC), log=log)
    watch.job_changed(tests)
    with JobLog(log, Redactor()) as job_log:
        job_log.line("collecting")
        job_log.line(PROGRESS)
        watch.poll()
        job_log.line("last line")
    tests.finished, tests.status, tests.duration_s = datetime.now(UTC), JobStatus.FAILED, 2.5
    watch.job_changed(tests)  # the rest of the log is read before the end is told
    deploy = JobRecord(job=plan().jobs[1], detail="needs tests, which did not succeed")
    watch.job_changed(deploy)
    assert events[1:] == [
        JobStarted(job="tests"),
        TestProgress(job="tests", done=3, total=10, failed=1),
        JobOutput(job="tests", line="collecting"),
        JobOutput(job="tests", line="last line"),
        JobFinished(job="tests", status="failed", duration_s=2.5, detail="", log=log, started=True),
        JobFinished(
            job="deploy",
            status="skipped",
            duration_s=0.0,
            detail="needs tests, which did not succeed",
            log=None,
            started=False,
        ),
    ]


def test_following_polls_in_the_background(tmp_path: Path) -> None:
    events: list[RunEvent] = []
    watch = JobWatch(events.append)
    log = tmp_path / "tests.log"
    log.write_text("")
    watch.job_changed(JobRecord(job=plan().jobs[0], started=datetime.now(UTC), log=log))

    async def main() -> None:
        async with watch.following():
            log.write_text("while it runs\n")
            with anyio.fail_after(5):
                while JobOutput(job="tests", line="while it runs") not in events:
                    await anyio.sleep(0.05)

    anyio.run(main)
