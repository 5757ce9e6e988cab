"""`python -m pipeline run` on a small pipeline, on the real Docker Engine.

Exit codes, report.json, logs and artifacts of a mixed run; SIGINT during a job
leaves no container or network with the run's label and exits 130.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docker
import pytest

from pipeline.engines.base import LABEL_RUN

PIPELINE = """\
project: {name: demo, root: app}
secrets: [DEMO_TOKEN]
images:
  aliases: {python:3.11-slim: slipway/python:3.11, postgres:15: slipway/postgres:15}
services:
  db:
    image: postgres:15
    env: {POSTGRES_PASSWORD: pw}
    port: 5432
    readiness: {command: [pg_isready, -h, 127.0.0.1]}
stages:
  - name: hello
    kind: command
    image: python:3.11-slim
    secrets: [DEMO_TOKEN]
    commands:
      - [python, -c, "import os; print('token is', os.environ['DEMO_TOKEN'])"]
      - [python, -c, "import pathlib; pathlib.Path('/tmp/out').mkdir(); pathlib.Path('/tmp/out/r.txt').write_text('done')"]
    outputs: [/tmp/out]
  - name: db-check
    kind: command
    image: python:3.11-slim
    services: [db]
    commands: [[python, -c, "import socket; socket.create_connection(('db', 5432), 3); print('db reachable')"]]
  - name: broken
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "import pathlib; pathlib.Path('/tmp/partial.txt').write_text('kept'); raise SystemExit(3)"]]
    outputs: [/tmp/partial.txt]
  - name: after-broken
    kind: command
    image: python:3.11-slim
    needs: [broken]
    commands: [["true"]]
  - name: slow
    kind: command
    image: python:3.11-slim
    group: slow
    commands: [[sleep, "60"]]
"""


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=10)
        c.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a Docker Engine (scripts/setup-machine starts one): {exc}")
    for image in ("slipway/python:3.11", "slipway/postgres:15"):
        try:
            c.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"{image} missing: run `python -m pipeline images bootstrap`")
    return c


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('app')\n")
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def slipway(project: Path, *args: str, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "DEMO_TOKEN": "s3cr3t-value-42", "GIT_SHA": "f" * 40}
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "-m", "pipeline", *args], cwd=project, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw,
    )


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    label = f"{LABEL_RUN}={run_id}"
    found = [c.name for c in client.containers.list(all=True, filters={"label": label})]
    found += [n.name for n in client.networks.list(filters={"label": label})]
    return found


def test_mixed_run_reports_everything_and_exits_1(client: docker.DockerClient, project: Path) -> None:
    proc = slipway(project, "run", "--skip", "slow", "--report-dir", "out", "--engine", "docker")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    report = json.loads((project / "out/report.json").read_text())
    jobs = {j["name"]: j for j in report["jobs"]}
    assert report["status"] == "failed" and report["engine"] == "docker"
    assert report["git_sha"] == "f" * 40
    assert {n: j["status"] for n, j in jobs.items()} == {
        "hello": "success", "db-check": "success", "broken": "failed", "after-broken": "skipped",
    }
    # the failed job's output is exported anyway, and listed
    assert jobs["broken"]["artifacts"] == ["artifacts/broken/tmp/partial.txt"]
    assert (project / "out/artifacts/broken/tmp/partial.txt").read_text() == "kept"
    assert (project / "out/artifacts/hello/tmp/out/r.txt").read_text() == "done"
    assert "db reachable" in (project / "out" / jobs["db-check"]["log"]).read_text()
    # the secret reached the container but no log, report or summary
    hello_log = (project / "out/logs/hello.log").read_text()
    assert "token is ***" in hello_log
    for path in (project / "out").rglob("*"):
        if path.is_file():
            assert "s3cr3t-value-42" not in path.read_text(errors="replace"), path
    assert "s3cr3t-value-42" not in out + err
    summary = (project / "out/summary.md").read_text()
    assert "| broken | ❌ failed |" in summary
    # What a person opens: the timeline (one bar per job) and report.html, named at the end.
    svg = (project / "out/timeline.svg").read_text()
    assert sorted(re.findall(r'data-job="([^"]+)"', svg)) == sorted(jobs)
    assert (project / "out/timeline.png").is_file() and (project / "out/report.html").is_file()
    assert "report.html: out/report.html" in out
    assert leftovers(client, report["run_id"]) == []


def test_sigint_during_a_job_cleans_up_and_exits_130(client: docker.DockerClient, project: Path) -> None:
    proc = slipway(project, "run", "--only", "slow", "--report-dir", "out", "--engine", "docker")
    deadline = time.monotonic() + 120
    running: list[docker.models.containers.Container] = []
    log = project / "out" / "logs" / "slow.log"
    # Polled with a deadline: the job's container is up and its command has started.
    while time.monotonic() < deadline and not (running and log.is_file() and "$ sleep 60" in log.read_text()):
        running = running or [
            c for c in client.containers.list(filters={"label": LABEL_RUN})
            if c.labels.get("dev.slipway.pid") == str(proc.pid)
        ]
        time.sleep(0.1)
    assert running, "the job's container never started"
    assert "$ sleep 60" in log.read_text(), "the job's command never started"
    run_id = running[0].labels[LABEL_RUN]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert leftovers(client, run_id) == []
    report = json.loads((project / "out/report.json").read_text())
    assert report["status"] == "interrupted"
    assert (project / "out/timeline.svg").is_file() and (project / "out/report.html").is_file()
    assert report["jobs"][0]["status"] == "skipped" and report["jobs"][0]["detail"] == "interrupted"


def test_bad_config_and_unknown_stage_exit_2(project: Path) -> None:
    proc = slipway(project, "run", "--only", "nope", "--engine", "docker")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "no stage, group or kind named 'nope'" in err
    (project / "pipeline.yaml").write_text("project: {name: demo}\nstages:\n  - {name: x, kind: pytest, shard: 2}\n")
    proc = slipway(project, "plan")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "pipeline.yaml:3:29: stages[0].shard: unknown key 'shard'; did you mean 'shards'?" in err
    assert "Tuple should have" not in err  # no follow-on noise from the dropped item


def test_unreachable_daemon_exits_2_with_advice(project: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--engine", "docker"], cwd=project, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "DOCKER_HOST" in proc.stderr or "dockerd" in proc.stderr


UNKNOWN_IMAGE = """\
project: {name: demo, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: typo
    kind: command
    image: slipway-test/no-such-image:1
    commands: [["true"]]
  - name: after-typo
    kind: command
    image: python:3.11-slim
    needs: [typo]
    commands: [["true"]]
  - name: hello
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print('hello')"]]
  - name: after-hello
    kind: command
    image: python:3.11-slim
    needs: [hello]
    commands: [[python, -c, "print('after')"]]
"""


def test_a_job_whose_image_does_not_exist_fails_alone(client: docker.DockerClient, project: Path) -> None:
    # The engine is there: an unknown image is that job's failure (exit 1, the engine's
    # message in its log), not "no engine" (exit 2 with every other job cancelled).
    (project / "pipeline.yaml").write_text(UNKNOWN_IMAGE)
    proc = slipway(project, "run", "--report-dir", "out", "--engine", "docker")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    report = json.loads((project / "out/report.json").read_text())
    jobs = {j["name"]: j for j in report["jobs"]}
    assert {n: j["status"] for n, j in jobs.items()} == {
        "typo": "failed", "after-typo": "skipped", "hello": "success", "after-hello": "success",
    }
    log = (project / "out" / jobs["typo"]["log"]).read_text()
    assert "slipway-test/no-such-image:1" in log and "images bootstrap" in log
    assert "slipway-test/no-such-image:1" in jobs["typo"]["detail"]
    assert "after" in (project / "out" / jobs["after-hello"]["log"]).read_text()
    assert leftovers(client, report["run_id"]) == []
