"""^C and dead runs: nothing labelled with a run outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest

from pipeline.engines.base import LABEL_HOST, LABEL_JOB, LABEL_PID, LABEL_RUN
from pipeline.engines.docker.gc import collect
from tests.integration.conftest import run_objects

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("docker_sigint_job.py")


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# Known flake (2 of 3 clean-clone CI runs on 2026-12-02, never in 10 runs alone, with or
# without coverage or CPU hogs): the run printed nothing and had not ended 120 s after
# SIGINT; not understood yet, so it is rerun rather than hidden.
@pytest.mark.flaky(reruns=1, reruns_delay=5)
def test_sigint_during_a_job_leaves_nothing(
    docker_client: docker.DockerClient, base_images: dict[str, str], tmp_path: Path
) -> None:
    run_id = f"t-sigint-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "job.log"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), run_id, str(log)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: log.exists() and "$ sleep 600" in log.read_text(), 60, "the job to run")
        made = run_objects(docker_client, run_id)
        assert any(o.startswith("container") for o in made)
        assert any(o.startswith("volume") for o in made)
        proc.send_signal(signal.SIGINT)
        try:
            # Seconds alone; 60 s was once not enough in CI beside 20 interrupted pipeline
            # runs on the same daemon (not reproduced since): what it printed says where.
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"still running 120 s after SIGINT; it printed: {proc.communicate()[0][-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert run_objects(docker_client, run_id) == []


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_gc_removes_what_dead_runs_left_and_keeps_shared_caches(
    docker_client: docker.DockerClient, base_images: dict[str, str]
) -> None:
    api = docker_client.api
    dead_run, live_run = (f"t-gc-{uuid.uuid4().hex[:8]}" for _ in range(2))
    host = os.uname().nodename
    dead = {LABEL_RUN: dead_run, LABEL_PID: str(dead_pid()), LABEL_HOST: host, LABEL_JOB: "x"}
    live = {**dead, LABEL_RUN: live_run, LABEL_PID: str(os.getpid())}
    shared = f"slipway-cache-test-{uuid.uuid4().hex[:8]}"
    try:
        for labels in (dead, live):
            name = f"slipway-{labels[LABEL_RUN]}"
            api.create_network(name, labels=labels)
            api.create_volume(f"{name}-private", labels=labels)
            api.create_container("slipway/python:3.11", ["true"], name=name, labels=labels)
        api.create_volume(shared, labels={"dev.slipway.cache": "test"})

        report = collect(runs=(dead_run, live_run))
        assert f"container slipway-{dead_run}" in report.lines()
        assert f"network slipway-{dead_run}" in report.lines()
        assert f"volume slipway-{dead_run}-private" in report.lines()
        assert run_objects(docker_client, dead_run) == []
        assert len(run_objects(docker_client, live_run)) == 3  # its creator is alive
        assert shared in {v["Name"] for v in api.volumes()["Volumes"]}

        collect(all_runs=True, runs=(dead_run, live_run))
        assert run_objects(docker_client, live_run) == []
        assert shared in {v["Name"] for v in api.volumes()["Volumes"]}
    finally:
        collect(all_runs=True, runs=(dead_run, live_run))
        api.remove_volume(shared, force=True)
