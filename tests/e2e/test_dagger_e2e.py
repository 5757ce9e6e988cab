"""`dagger run python -m pipeline run` on Slipway's own engine, end to end.

- ^C under `dagger run` (which sends SIGTERM, then SIGKILL 10 s later): exit 130 and a
  report, written in time.
- The engine dies mid-run: exit 2 and a report.
- The example's test stage run twice with --no-cache really runs twice; a broken test
  fails on the first and the second run and passes on the first run after the fix.
- The bundled example, green end to end: the same jobs and tests as --engine docker,
  production deployed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.engines.dagger.connection import DaggerTarget
from pipeline.engines.dagger.provision import layout as provision_layout
from pipeline.engines.dagger.provision.container import privilege_flags
from tests.e2e.test_fast_tests import copy_example
from tests.integration.dagger_live import find_engine

pytestmark = [pytest.mark.dagger, pytest.mark.timeout(3600)]

SMALL = """\
project: {name: demo, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: quick
    kind: command
    image: python:3.11-slim
    commands: [[python3, -c, "print('quick done')"]]
  - name: slow
    kind: command
    image: python:3.11-slim
    commands: [[python3, -c, "import time; print('slow started', flush=True); time.sleep(300)"]]
"""


@pytest.fixture(scope="module")
def target() -> DaggerTarget:
    return find_engine()


def env_for(target: DaggerTarget, cwd: Path, **extra: str) -> dict[str, str]:
    assert target.cli is not None
    return {
        **os.environ,
        **target.session_env(),
        "PATH": f"{Path(target.cli).parent}:{os.environ['PATH']}",
        "GIT_SHA": "d" * 40,
        "BRANCH": "test",
        "SLIPWAY_CACHE_DIR": str(cwd / ".cache"),
        **extra,
    }


def dagger_run(target: DaggerTarget, cwd: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["dagger", "run", "--progress=plain", sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env_for(target, cwd),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **kw,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 1800) -> str:
    """Its output once it ends; a run still going after ``timeout`` is killed with its
    whole session (its ``dagger`` child too) before the timeout is raised, so no process
    outlives the test and no pipe is left for the garbage collector to warn about."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise
    return out


def _end(proc: subprocess.Popen[str]) -> str:
    """What it printed, after killing its session if it is still going."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.communicate()[0]


def report(path: Path) -> dict[str, Any]:
    return json.loads((path / "report.json").read_text())


def wait_for_job_start(proc: subprocess.Popen[str], report_dir: Path, job: str, timeout: float = 600) -> None:
    """Until the job's log shows its command running (the scheduler started it)."""
    log = report_dir / "logs" / f"{job}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {_end(proc)}")
        if log.is_file() and "--- $ " in log.read_text(errors="replace"):
            time.sleep(3)  # the command is in the engine now
            return
        time.sleep(0.5)
    raise AssertionError(f"{job} did not start within {timeout}s: {_end(proc)[-3000:]}")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('app')\n")
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(SMALL))
    return tmp_path


# --- ^C and a dead engine: the report is written ------------------------------------------


# Known flake (2 of 3 clean-clone CI runs on 2026-12-02, never in 8 runs alone, with or
# without coverage): `dagger run` itself exited 255 although the run wrote its report
# ('interrupted', slow skipped) within the 10 s; not understood yet, so it is rerun
# rather than hidden.
@pytest.mark.flaky(reruns=2, reruns_delay=5)
def test_ctrl_c_under_dagger_run_exits_130_with_a_report(target: DaggerTarget, small: Path) -> None:
    proc = dagger_run(target, small, "run", "--engine", "dagger", "--report-dir", "out")
    wait_for_job_start(proc, small / "out", "slow")
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's ^C reaches the whole group
    out = finish(proc, timeout=60)
    took = time.monotonic() - sent
    # `dagger run` SIGKILLs us 10 s after its SIGTERM: a run that took longer is not 130.
    assert proc.returncode == 130, f"ended {took:.1f} s after the ^C: {out[-3000:]}"
    data = report(small / "out")
    assert data["status"] == "interrupted"
    assert data["engine"] == "dagger"
    jobs = {j["name"]: j for j in data["jobs"]}
    assert jobs["slow"]["status"] == "skipped"


@pytest.mark.parametrize("how", ["kill", "pause"])
def test_a_dead_engine_exits_2_with_a_report(target: DaggerTarget, small: Path, how: str) -> None:
    """The engine killed (its session answers 502) or frozen (``docker pause``: nothing
    answers, the connection stays open) while a job runs: exit 2, the report written,
    no process of the run left.

    Found by this test: killed, the run wrote its report and then hung for good
    (dagger-io waits 300 s, in a thread, for a CLI that never exits; session.py kills
    it); frozen, the query waited forever (the watchdog, watchdog.py, ends it)."""
    # A disposable engine of the same build: killing Slipway's own would wipe its cache.
    layout = provision_layout()
    name = f"slipway-dagger-doomed-{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            *privilege_flags(),
            "-v",
            f"{layout.engine_json}:/etc/dagger/engine.json:ro",
            layout.image,
        ],
        check=True,
        capture_output=True,
    )
    try:
        env = env_for(target, small, _EXPERIMENTAL_DAGGER_RUNNER_HOST=f"docker-container://{name}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run", "--engine", "dagger", "--report-dir", "out"],
            cwd=small,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_job_start(proc, small / "out", "slow")
        subprocess.run(["docker", how, name], check=True, capture_output=True)
        # Frozen, the watchdog needs two missed answers of 20 s each, 10 s apart.
        out = finish(proc, timeout=180)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], check=False, capture_output=True)
    assert proc.returncode == 2, out[-3000:]
    assert "lost the Dagger engine session" in out
    data = report(small / "out")
    assert data["status"] == "failed"
    assert data["engine"] == "dagger"
    assert not _group_outlives(proc.pid, seconds=10), "a process of the run (its dagger session?) was left"


def _group_outlives(pgid: int, seconds: float) -> bool:
    """Whether a process of the run's own process group still runs ``seconds`` after it
    ended (the group is killed then, so the test leaves nothing either way)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)
    return True


# --- the example ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield copy_example(tmp_path_factory.mktemp("dagger-example"))


def test_no_cache_twice_runs_twice_and_a_broken_test_fails_until_fixed(
    target: DaggerTarget, example: Path
) -> None:
    def tests_unit(name: str) -> tuple[int, dict[str, Any], str]:
        proc = dagger_run(
            target,
            example,
            "run",
            "--engine",
            "dagger",
            "--only",
            "tests-unit",
            "--no-cache",
            "--report-dir",
            name,
        )
        out = finish(proc)
        assert (example / name / "report.json").is_file(), out[-3000:]
        log = (example / name / "logs" / "tests-unit.log").read_text()
        return proc.returncode, report(example / name), log + "\n--- console ---\n" + out[-2000:]

    target_file = next((example / "examples/inventory/backend/tests/unit").glob("test_*.py"))
    original = target_file.read_text()
    target_file.write_text(original + "\n\ndef test_broken_on_purpose() -> None:\n    assert 1 + 1 == 3\n")
    try:
        # Two --no-cache runs of the same source: each must really run (a replay of the
        # engine's cache would give the very same output, timings included) and fail.
        runs = [tests_unit(name) for name in ("broken-1", "broken-2")]
    finally:
        target_file.write_text(original)
    for code, data, log in runs:
        assert code == 1, log[-2000:]
        (job,) = data["jobs"]
        assert job["status"] == "failed"  # ran; never "cached"
        assert [f["test"] for f in data["failures"]] == [
            f"tests/unit/{target_file.name}::test_broken_on_purpose"
        ]
    summary = [next(ln for ln in log.splitlines() if " passed" in ln and " in " in ln) for _, _, log in runs]
    assert summary[0] != summary[1], summary
    code, data, log = tests_unit("fixed")
    assert code == 0, log[-2000:]
    assert data["tests"]["failed"] == 0


EXAMPLE_TESTS = 502  # the bundled example's backend tests, as every --engine docker run counts them


def test_the_example_goes_green_on_dagger_as_on_docker(target: DaggerTarget, example: Path) -> None:
    # The jobs --engine docker runs are the plan's (the scheduler is engine-neutral); the
    # Docker side's run of the same example is tests/e2e/test_fast_tests.py and the README
    # command, so this does not run the whole example a second time here.
    planned = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--format", "json"],
        cwd=example,
        env=env_for(target, example),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    plan = json.loads(planned.stdout)
    proc = dagger_run(target, example, "run", "--report-dir", "on-dagger")
    out = finish(proc)
    assert proc.returncode == 0, out[-5000:]
    on_dagger = report(example / "on-dagger")
    assert on_dagger["engine"] == "dagger"
    assert on_dagger["status"] == "success"
    assert sorted(j["name"] for j in on_dagger["jobs"]) == sorted(j["name"] for j in plan["jobs"])
    assert on_dagger["tests"]["passed"] == EXAMPLE_TESTS
    assert on_dagger["tests"]["failed"] == 0
    jobs = {j["name"]: j for j in on_dagger["jobs"]}
    assert jobs["deploy-production"]["status"] == "success"
