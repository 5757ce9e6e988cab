"""Faults mid-run, each with a clear outcome and a written report (issue 11, item 4).

- ``s3-down``: the S3 cache's endpoint refuses connections for the whole run
  (moto_server started, then stopped: its port is closed): the run is green, the
  report written, and the outage is said in warnings, not a failure.
- ``s3-dies``: moto_server is killed while the run is going: the same outcome.
- ``service-killed``: the PostgreSQL service is killed while a job uses it: that job
  fails, its log says the service is gone, the others go on, the report is written,
  nothing is left.

    PYTHONPATH=tests .venv/bin/python -m trust.faults
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.engines.base import LABEL_SERVICE
from trust.common import PIPELINE, client, env_for, finish, leftovers, make_project, start, statuses
from trust.daemon import OwnDaemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from s3server import MotoServer

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "SLIPWAY_CACHE_S3_URL": "s3://trust-cache/ci",
}

USES_DB = PIPELINE.replace(
    "      - [sleep, \"3\"]\n",
    "      - [python, -c, \"import socket,time\\nfor _ in range(40):\\n  socket.create_connection(('db', 5432), 3).close(); time.sleep(0.5)\\nprint('db stayed up')\"]\n",
)


def _warnings(text: str) -> list[str]:
    """The cache's warnings about S3 (the store says it once, then goes on without it)."""
    return [line for line in text.splitlines() if "going on without it" in line]


def s3_fault(workdir: Path, *, dies_mid_run: bool) -> str:
    name = "s3-dies" if dies_mid_run else "s3-down"
    project = make_project(workdir / name)
    moto = MotoServer(workdir / f"{name}-moto.log")
    moto.wait_ready()
    env = env_for(project, **S3_ENV, SLIPWAY_CACHE_S3_ENDPOINT=moto.url)
    if not dies_mid_run:
        moto.stop()
    started = time.monotonic()
    proc = start(project, "--report-dir", "out", env=env)
    if dies_mid_run:
        _wait_for((project / "out" / "logs" / "token.log").is_file, 120)
        moto.proc.kill()
        moto.stop()
    res = finish(proc, project / "out", started)
    said = _warnings(res.out + res.err)
    ok = res.code == 0 and res.report is not None and res.report["status"] == "success" and len(said) == 1
    return (f"{'OK' if ok else 'FAIL'} exit {res.code}, report {res.report and res.report['status']}, "
            f"{len(said)} warning line(s): {said[:1]}")


def service_killed(workdir: Path) -> str:
    c = client()
    project = make_project(workdir / "service-killed", USES_DB)
    started = time.monotonic()
    proc = start(project, "--report-dir", "out")
    log = project / "out" / "logs" / "db.log"
    _wait_for(lambda: log.is_file() and "range(40)" in log.read_text(), 180)
    services = [x for x in c.containers.list(filters={"label": LABEL_SERVICE})
                if x.labels.get("dev.slipway.pid") == str(proc.pid)]
    for s in services:
        s.kill()
    res = finish(proc, project / "out", started)
    jobs = statuses(res.report)
    text = log.read_text() if log.is_file() else ""
    left = leftovers(c, res.report["run_id"]) if res.report else ["no report"]
    named = [line for line in text.splitlines() if "service db stopped during the job" in line]
    ok = (res.code == 1 and jobs.get("db") == "failed" and jobs.get("token") == "success"
          and jobs.get("build") == "success" and not left and services and named)
    detail = (res.report and next((j.get("detail") for j in res.report["jobs"] if j["name"] == "db"), "")) or ""
    return (f"{'OK' if ok else 'FAIL'} exit {res.code}, killed {len(services)} service container(s), jobs {jobs}, "
            f"db: {detail!r}, its log: {named[:1]}, left {left}")


SLEEPER = """\
project: {name: trust-daemon, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: quick
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print('quick')"]]
  - name: long
    kind: command
    image: python:3.11-slim
    commands: [[sleep, "120"]]
"""


def daemon_stopped(workdir: Path) -> str:
    """Our own dockerd (never the shared one), killed while a job runs."""
    daemon = OwnDaemon()
    daemon.start()
    try:
        project = make_project(workdir / "daemon-stopped", SLEEPER)
        started = time.monotonic()
        proc = start(project, "--report-dir", "out", env=env_for(project, DOCKER_HOST=daemon.host))
        log = project / "out" / "logs" / "long.log"
        _wait_for(lambda: log.is_file() and "$ sleep 120" in log.read_text(), 180)
        daemon.stop()
        res = finish(proc, project / "out", started, timeout=300)
    finally:
        daemon.remove()
    said = [line for line in res.err.splitlines() if line.startswith("error")]
    ok = res.code == 2 and res.report is not None and "Traceback" not in res.err and len(said) == 1
    status = res.report and res.report.get("status")
    return f"{'OK' if ok else 'FAIL'} exit {res.code}, report {status}, says: {said[:1] or res.err.strip()[-300:]}"


def _wait_for(ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit("the run never reached the moment of the fault")
        time.sleep(0.1)


FAULTS: dict[str, Callable[[Path], str]] = {
    "s3-down": lambda w: s3_fault(w, dies_mid_run=False),
    "s3-dies": lambda w: s3_fault(w, dies_mid_run=True),
    "service-killed": service_killed,
    "daemon-stopped": daemon_stopped,
}


def main(argv: list[str] | None = None) -> int:
    names = argv or list(FAULTS)
    workdir = Path(tempfile.mkdtemp(prefix="slipway-faults-"))
    failed = 0
    for name in names:
        outcome = FAULTS[name](workdir)
        failed += not outcome.startswith("OK")
        print(f"RESULT fault {name}: {outcome}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
