"""Short versions of scripts/trust's drivers (issue 11), on the real Docker Engine:
the secrets scan of a green and a failing run, one SIGTERM mid-run, two concurrent
runs, and the faults (S3 down, PostgreSQL service killed, a job killed by the OOM
killer, the registry stopped before a push, a full disk under the job outputs and
under the whole report directory, our own dockerd killed).
The full counts (20 interrupts, 10,000 fuzzed configs) are scripts/trust's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from trust import concurrent, faults, interrupts, scan
from trust.common import client

# Each test is a few real runs of a pipeline with a PostgreSQL service (one to three
# minutes each on a loaded 2-core runner): past the suite's 300 s default.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(autouse=True)
def docker_needed() -> None:
    try:
        client()
    except Exception as exc:  # any failure to reach the daemon is the reason
        pytest.fail(f"these tests need a Docker Engine (scripts/setup-machine starts one): {exc}")


def test_no_secret_in_anything_a_green_or_failing_run_leaves(tmp_path: Path) -> None:
    results = scan.scan(tmp_path)
    assert sum(n for n, _ in results.values()) > 20  # reports, logs, cache blobs were looked at
    assert {what: found for what, (_, found) in results.items() if found} == {}


def test_sigint_mid_run_exits_130_leaves_nothing_and_next_run_is_green(tmp_path: Path) -> None:
    tally, _ = interrupts.interrupts(1, tmp_path, seed=3)  # trial 0 sends SIGINT; SIGTERM is scripts/trust's
    assert tally.problems == []
    assert (tally.tried, tally.exits_130, tally.reports_interrupted, tally.next_green) == (1, 1, 1, 1)


def test_two_runs_at_once_do_not_collide(tmp_path: Path) -> None:
    made, problems = concurrent.concurrent(tmp_path, 1)
    assert made == 2 and problems == []


_ROOT = os.geteuid() == 0 and shutil.which("mount") is not None
_MOUNTS = pytest.mark.skipif(not _ROOT, reason="needs root to mount a small tmpfs")


@pytest.mark.parametrize(
    "fault",
    [
        "s3-down",
        "service-killed",
        "oom-killed",
        "registry-down",
        pytest.param("disk-full", marks=_MOUNTS),
        pytest.param("report-dir-full", marks=_MOUNTS),
        pytest.param("report-dir-fills", marks=_MOUNTS),
    ],
)
def test_fault_has_a_clear_outcome(tmp_path: Path, fault: str) -> None:
    outcome = faults.FAULTS[fault](tmp_path)
    assert outcome.startswith("OK"), outcome


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("dockerd") is None, reason="needs root and dockerd for a daemon of its own")
def test_daemon_stopped_mid_run_exits_2_with_a_report(tmp_path: Path) -> None:
    outcome = faults.FAULTS["daemon-stopped"](tmp_path)
    assert outcome.startswith("OK"), outcome

