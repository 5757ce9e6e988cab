"""The scheduler's own logic, with a fake runner (the seam: it knows nothing of engines)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import anyio
import pytest

from pipeline.model.errors import EngineJobError, EngineUnavailable
from pipeline.model.outcome import JobOutcome, JobStatus, RunStatus
from pipeline.plan import Job, Plan
from pipeline.scheduler import run_plan
from pipeline.scheduler.runner import INTERRUPT_RACE


def job(name: str, *needs: str) -> Job:
    return Job(name=name, stage=name, kind="command", needs=needs)


class FakeRunner:
    """Sleeps per job, fails the named ones, and records start/end and cleanups."""

    def __init__(self, sleep: float = 0.2, fail: tuple[str, ...] = ()) -> None:
        self.sleep, self.fail = sleep, fail
        self.spans: dict[str, tuple[float, float]] = {}
        self.cleaned: list[str] = []

    async def __call__(self, j: Job) -> JobOutcome:
        start = time.monotonic()
        try:
            await anyio.sleep(self.sleep)
        finally:
            # An engine removes its containers shielded from cancellation, like this.
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)
                self.cleaned.append(j.name)
        self.spans[j.name] = (start, time.monotonic())
        status = JobStatus.FAILED if j.name in self.fail else JobStatus.SUCCESS
        return JobOutcome(status=status)


def test_independent_jobs_overlap_in_time() -> None:
    # Each job waits until both have started: run one after the other, they never would.
    started = {"n": 0}
    both = anyio.Event()

    async def runner(j: Job) -> JobOutcome:
        started["n"] += 1
        if started["n"] == 2:
            both.set()
        with anyio.fail_after(60):
            await both.wait()
        return JobOutcome(status=JobStatus.SUCCESS)

    result = anyio.run(lambda: run_plan(Plan(jobs=(job("a"), job("b"))), runner, max_parallel=2))
    assert result.status is RunStatus.SUCCESS
    ra, rb = result.records
    assert ra.started and rb.started and ra.finished and rb.finished
    assert ra.started < rb.finished and rb.started < ra.finished


def test_limit_serialises_jobs() -> None:
    runner = FakeRunner(sleep=0.1)
    anyio.run(lambda: run_plan(Plan(jobs=(job("a"), job("b"))), runner, max_parallel=1))
    (_, a1), (b0, _) = sorted(runner.spans.values())
    assert b0 >= a1


def test_needs_wait_and_failure_skips_dependents_only() -> None:
    plan = Plan(jobs=(job("build"), job("other"), job("test", "build"), job("deploy", "test")))
    runner = FakeRunner(sleep=0.05, fail=("build",))
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=4))
    by = {r.job.name: r for r in result.records}
    assert by["build"].status is JobStatus.FAILED
    assert by["other"].status is JobStatus.SUCCESS  # independent work goes on
    assert by["test"].status is JobStatus.SKIPPED
    assert "needs build" in by["test"].detail
    assert by["deploy"].status is JobStatus.SKIPPED
    assert by["test"].started is None
    assert result.status is RunStatus.FAILED


def test_dependent_starts_after_its_need_finishes() -> None:
    runner = FakeRunner(sleep=0.1)
    anyio.run(lambda: run_plan(Plan(jobs=(job("a"), job("b", "a"))), runner, max_parallel=2))
    assert runner.spans["b"][0] >= runner.spans["a"][1]


def test_fail_fast_cancels_running_jobs() -> None:
    class Mixed(FakeRunner):
        async def __call__(self, j: Job) -> JobOutcome:
            if j.name == "quick-fail":
                return JobOutcome(status=JobStatus.FAILED, detail="boom")
            return await super().__call__(j)

    # "slow" would succeed after a minute; cancelled, it ends skipped (no wall-clock bound needed).
    runner = Mixed(sleep=60.0)
    plan = Plan(jobs=(job("quick-fail"), job("slow"), job("later", "slow")))
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=3, fail_fast=True))
    by = {r.job.name: r for r in result.records}
    assert by["quick-fail"].status is JobStatus.FAILED
    assert by["slow"].status is JobStatus.SKIPPED and by["slow"].detail == "cancelled"
    assert by["later"].status is JobStatus.SKIPPED
    assert "slow" in runner.cleaned  # cleanup ran although the job was cancelled
    assert "slow" not in runner.spans  # it never got to finish its work
    assert result.status is RunStatus.FAILED


class StartedRunner(FakeRunner):
    """A FakeRunner that says when ``expected`` jobs are running."""

    def __init__(self, expected: int, sleep: float) -> None:
        super().__init__(sleep=sleep)
        self.running = 0
        self.expected = expected
        self.all_started = anyio.Event()

    async def __call__(self, j: Job) -> JobOutcome:
        self.running += 1
        if self.running == self.expected:
            self.all_started.set()
        return await super().__call__(j)


def test_sigint_cancels_waits_for_cleanup_and_ends_interrupted() -> None:
    # The jobs would succeed after a minute: interrupted, they end skipped, cleaned up.
    runner = StartedRunner(expected=2, sleep=60.0)

    async def main() -> object:
        async def interrupt() -> None:
            with anyio.fail_after(60):
                await runner.all_started.wait()
            os.kill(os.getpid(), signal.SIGINT)

        async with anyio.create_task_group() as tg:
            tg.start_soon(interrupt)
            result = await run_plan(Plan(jobs=(job("a"), job("b"), job("c", "a"))), runner, max_parallel=2)
        return result

    result = anyio.run(main)
    assert result.status is RunStatus.INTERRUPTED  # type: ignore[attr-defined]
    assert sorted(runner.cleaned) == ["a", "b"]
    assert runner.spans == {}  # neither finished its work
    details = {r.job.name: (r.status, r.detail) for r in result.records}  # type: ignore[attr-defined]
    assert details["a"] == (JobStatus.SKIPPED, "interrupted")
    assert details["c"][0] is JobStatus.SKIPPED


def test_a_bug_in_a_stage_fails_that_job_only(tmp_path: object) -> None:
    async def runner(j: Job) -> JobOutcome:
        if j.name == "buggy":
            raise RuntimeError("oops")
        return JobOutcome(status=JobStatus.SUCCESS)

    plan = Plan(jobs=(job("buggy"), job("fine")))
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=2))
    by = {r.job.name: r for r in result.records}
    assert by["buggy"].status is JobStatus.FAILED
    assert "internal error (RuntimeError: oops)" in by["buggy"].detail
    assert by["fine"].status is JobStatus.SUCCESS


def test_an_engine_error_fails_that_job_only_and_is_in_its_log(tmp_path: Path) -> None:
    async def runner(j: Job) -> JobOutcome:
        if j.name == "typo":
            raise EngineJobError("image typo:1 is not present locally and cannot be pulled")
        await anyio.sleep(0.1)
        return JobOutcome(status=JobStatus.SUCCESS)

    plan = Plan(jobs=(job("typo"), job("fine"), job("later", "fine")))
    result = anyio.run(
        lambda: run_plan(plan, runner, max_parallel=2, log_path=lambda j: tmp_path / f"{j.name}.log")
    )
    by = {r.job.name: r for r in result.records}
    assert by["typo"].status is JobStatus.FAILED
    assert "cannot be pulled" in by["typo"].detail
    assert "[slipway] error: image typo:1" in (tmp_path / "typo.log").read_text()
    assert by["fine"].status is JobStatus.SUCCESS and by["later"].status is JobStatus.SUCCESS
    assert result.status is RunStatus.FAILED and result.fatal is None


def test_an_unreachable_engine_stops_the_run() -> None:
    async def runner(j: Job) -> JobOutcome:
        if j.name == "first":
            raise EngineUnavailable("cannot reach the Docker daemon")
        await anyio.sleep(5)
        return JobOutcome(status=JobStatus.SUCCESS)

    result = anyio.run(lambda: run_plan(Plan(jobs=(job("first"), job("other"))), runner, max_parallel=2))
    assert isinstance(result.fatal, EngineUnavailable)
    assert {r.job.name: r.status for r in result.records}["other"] is JobStatus.SKIPPED


def test_max_parallel_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        anyio.run(lambda: run_plan(Plan(jobs=()), FakeRunner(), max_parallel=0))


def test_a_signal_before_the_jobs_start_ends_the_run_interrupted() -> None:
    """A ^C while the run prepares (cache volumes): no job runs, all skipped 'interrupted'."""
    runner = FakeRunner(sleep=60.0)
    plan = Plan(jobs=(job("a"), job("b", "a")))
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=2, interrupted=True))
    assert result.status is RunStatus.INTERRUPTED
    assert runner.spans == {}
    assert [(r.status, r.detail) for r in result.records] == [(JobStatus.SKIPPED, "interrupted")] * 2


def test_a_job_that_fails_as_the_run_is_interrupted_is_the_interrupts() -> None:
    # Under `dagger run` the ^C also ends the engine session: a running job's command
    # fails a moment before this process sees the signal. It is stopped, not failed.
    async def runner(j: Job) -> JobOutcome:
        if j.name == "early":
            return JobOutcome(status=JobStatus.FAILED, detail="a real failure, long before")
        await anyio.sleep(INTERRUPT_RACE.total_seconds() + 0.5)  # "early" ended well before
        os.kill(os.getpid(), signal.SIGINT)  # the session's end and the ^C, together
        return JobOutcome(status=JobStatus.FAILED, detail="command exited 1: session closed")

    plan = Plan(jobs=(job("early"), job("slow")))
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=2))
    by = {r.job.name: r for r in result.records}
    assert result.status is RunStatus.INTERRUPTED
    assert by["slow"].status is JobStatus.SKIPPED
    assert by["slow"].detail is not None and by["slow"].detail.startswith("interrupted")
    assert by["early"].status is JobStatus.FAILED  # ended before: still its own failure
