"""Faults mid-run, each with a clear outcome and a written report (issue 11, item 4).

- ``s3-down``: the S3 cache's endpoint refuses connections for the whole run
  (moto_server started, then stopped: its port is closed): the run is green, the
  report written, and the outage is said in warnings, not a failure.
- ``s3-dies``: moto_server is killed while the run is going: the same outcome.
- ``service-killed``: the PostgreSQL service is killed while a job uses it: that job
  fails, its log says the service is gone, the others go on, the report is written,
  nothing is left.
- ``oom-killed``: a job with ``memory: 64m`` allocates 512 MB: the OOM killer ends its
  command; that job fails and says so (with its limit) in its log and its detail, the
  others go on, the report is written, nothing is left.
- ``registry-down``: a build stage pushes to a registry of the driver's own, stopped
  while the image builds: that job fails with one line naming the registry (no
  traceback), the report is written, exit 1.
- ``disk-full``: the report's ``artifacts/`` is a 2 MiB tmpfs and a job's output is
  4 MiB: the job fails naming the path and "no space left on device", nothing of the
  output is left half-written, the other job's output and the report are written.
- ``report-dir-full``: the whole report directory is a full 2 MiB tmpfs: the run
  does not start; it exits 1 with one line naming the directory and "no space left
  on device" (no traceback), and nothing is left.
- ``report-dir-fills``: the report directory is an empty 2 MiB tmpfs that a job's
  4 MB log fills mid-run: the jobs end, their containers are removed, and the run
  exits 1 with one line saying the report could not be written there (no traceback,
  no half-written report.json.tmp).

    PYTHONPATH=tests .venv/bin/python -m trust.faults
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker.errors

from pipeline.engines.base import LABEL_SERVICE
from trust.common import PIPELINE, Result, client, env_for, finish, leftovers, make_project, start, statuses
from trust.daemon import OwnDaemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from registry_server import registry_server
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


OOM = """\
project: {name: trust-oom, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: hog
    kind: command
    image: python:3.11-slim
    memory: 64m
    commands: [[python, -c, "b = bytearray(512 * 1024 * 1024); print('allocated', len(b))"]]
  - name: quick
    kind: command
    image: python:3.11-slim
    memory: 256m
    commands: [[python, -c, "print('quick')"]]
  - name: after
    kind: command
    image: python:3.11-slim
    needs: [quick]
    commands: [[python, -c, "print('after')"]]
"""


def oom_killed(workdir: Path) -> str:
    project = make_project(workdir / "oom-killed", OOM)
    res = finish(start(project, "--report-dir", "out"), project / "out", time.monotonic())
    jobs = statuses(res.report)
    log = project / "out" / "logs" / "hog.log"
    said = [line for line in (log.read_text() if log.is_file() else "").splitlines() if "OOM killer" in line]
    detail = _detail(res, "hog")
    left = _leftovers(res)
    ok = (res.code == 1 and jobs == {"hog": "failed", "quick": "success", "after": "success"}
          and "killed by the OOM killer" in detail and "64 MiB" in detail and bool(said) and not left
          and "Traceback" not in res.err)
    return (f"{'OK' if ok else 'FAIL'} exit {res.code}, jobs {jobs}, hog: {detail!r}, its log: {said[:1]}, "
            f"left {left} ({res.seconds:.0f} s)")


BUILDS = """\
project: {name: trust-push, root: app}
variables: {REGISTRY: "localhost:5000"}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
registry: {url: "${REGISTRY}", insecure: true}
stages:
  - name: image
    kind: build
    targets: [app]
  - name: quick
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print('quick')"]]
"""

BAKE = """\
variable "REGISTRY" { default = "localhost:5000" }
variable "GIT_SHA" { default = "dev" }
target "app" {
  context = "app"
  dockerfile = "Dockerfile"
  tags = ["${REGISTRY}/trust-app:${GIT_SHA}"]
}
"""

DOCKERFILE = """\
FROM python:3.11-slim
COPY nonce.txt /nonce.txt
RUN echo building the image && sleep 4 && echo built
"""


def registry_down(workdir: Path) -> str:
    """Our own registry (never the shared one on :5000), stopped while the image builds."""
    project = make_project(workdir / "registry-down", BUILDS)
    (project / "docker-bake.hcl").write_text(BAKE)
    (project / "app" / "Dockerfile").write_text(DOCKERFILE)
    (project / "app" / "nonce.txt").write_text(uuid.uuid4().hex)  # no layer cache: the build takes its seconds
    log = project / "out" / "logs" / "image.log"
    with registry_server() as registry:
        env = env_for(project, REGISTRY=registry.host)
        started = time.monotonic()
        proc = start(project, "--report-dir", "out", env=env)
        try:
            _wait_for(lambda: log.is_file() and "building the image" in log.read_text(), 180)
        except BaseException:
            proc.kill()
            finish(proc, project / "out", started)
            raise
    # The registry is stopped (its storage removed) before the build ends and pushes.
    res = finish(proc, project / "out", started)
    with contextlib.closing(client()) as c, contextlib.suppress(docker.errors.APIError):
        c.images.remove(f"{registry.host}/trust-app:{'f' * 40}", force=True)  # built by the run, kept by design
    text = log.read_text() if log.is_file() else ""
    said = [line for line in text.splitlines() if line.startswith("[slipway] error: pushing")]
    jobs = statuses(res.report)
    detail = _detail(res, "image")
    ok = (res.code == 1 and jobs == {"image": "failed", "quick": "success"} and registry.host in detail
          and "\n" not in detail and "Traceback" not in res.out + res.err + text and len(said) == 1
          and res.report is not None)
    return f"{'OK' if ok else 'FAIL'} exit {res.code}, jobs {jobs}, image: {detail!r}, in its log too ({res.seconds:.0f} s)"


DISK = """\
project: {name: trust-disk, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: big
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "import os,pathlib; p=pathlib.Path('/tmp/out'); p.mkdir(); (p/'big.bin').write_bytes(os.urandom(4 << 20))"]]
    outputs: [/tmp/out]
  - name: small
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "import pathlib; p=pathlib.Path('/tmp/out'); p.mkdir(); (p/'small.txt').write_text('small')"]]
    outputs: [/tmp/out]
"""


@contextmanager
def _tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def disk_full(workdir: Path) -> str:
    """The job outputs' directory (the report's artifacts/) on a 2 MiB tmpfs."""
    project = make_project(workdir / "disk-full", DISK)
    with _tmpfs(project / "out" / "artifacts") as artifacts:
        res = finish(start(project, "--report-dir", "out"), project / "out", time.monotonic())
        kept = sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*") if p.is_file())
    jobs = statuses(res.report)
    detail = _detail(res, "big")
    left = _leftovers(res)
    ok = (res.code == 1 and jobs == {"big": "failed", "small": "success"} and "no space left on device" in detail
          and "artifacts/big" in detail and kept == ["small/tmp/out/small.txt"] and not left
          and "Traceback" not in res.err)
    return (f"{'OK' if ok else 'FAIL'} exit {res.code}, jobs {jobs}, big: {detail!r}, artifacts kept {kept}, "
            f"left {left} ({res.seconds:.0f} s)")


def report_dir_full(workdir: Path) -> str:
    """The report directory itself on a 2 MiB tmpfs that a file already fills."""
    project = make_project(workdir / "report-dir-full", DISK)
    with _tmpfs(project / "out") as out:
        # Filled to the last block (dd stops at "no space left"): what the run meets.
        subprocess.run(["dd", "if=/dev/zero", f"of={out / 'filler'}", "bs=64k"], capture_output=True, check=False)
        proc = start(project, "--report-dir", "out")
        run_pid = proc.pid
        res = finish(proc, out, time.monotonic())
    ours = _containers_of(run_pid)
    said = [line for line in res.err.splitlines() if line.startswith("error")]
    ok = (res.code == 1 and len(said) == 1 and "no space left on device" in said[0] and "directory out " in said[0]
          and "Traceback" not in res.out + res.err and not ours)
    return f"{'OK' if ok else 'FAIL'} exit {res.code}, says: {said[:1] or res.err.strip()[-300:]}, left {ours} ({res.seconds:.0f} s)"


CHATTY = """\
project: {name: trust-chatty, root: app}
images:
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: chatty
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "import os\\nfor _ in range(40000): print(os.urandom(50).hex())"]]
  - name: quick
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print('quick')"]]
"""


def report_dir_fills(workdir: Path) -> str:
    """The report directory on an empty 2 MiB tmpfs that a job's 4 MB log fills mid-run."""
    project = make_project(workdir / "report-dir-fills", CHATTY)
    with _tmpfs(project / "out") as out:
        proc = start(project, "--report-dir", "out")
        run_pid = proc.pid
        res = finish(proc, out, time.monotonic())
        half = sorted(p.name for p in out.glob("*.tmp"))
    ours = _containers_of(run_pid)
    said = [line for line in res.err.splitlines() if line.startswith("error")]
    ok = (res.code == 1 and len(said) == 1 and "no space left on device" in said[0] and "to out:" in said[0]
          and "Traceback" not in res.out + res.err and not ours and not half)
    return (f"{'OK' if ok else 'FAIL'} exit {res.code}, says: {said[:1] or res.err.strip()[-300:]}, "
            f"half-written {half}, left {ours} ({res.seconds:.0f} s)")


def _leftovers(res: Result) -> list[str]:
    if res.report is None:
        return ["no report"]
    with contextlib.closing(client()) as c:  # closed: an open socket fails a later test on a ResourceWarning
        return leftovers(c, res.report["run_id"])


def _containers_of(run_pid: int) -> list[str]:
    """Containers of the run with that pid (for a run that wrote no report to name its id)."""
    with contextlib.closing(client()) as c:
        return [x.name for x in c.containers.list(all=True) if x.labels.get("dev.slipway.pid") == str(run_pid)]


def _detail(res: Result, job: str) -> str:
    return str(next((j.get("detail") for j in (res.report or {}).get("jobs", []) if j["name"] == job), "") or "")


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
    "oom-killed": oom_killed,
    "registry-down": registry_down,
    "disk-full": disk_full,
    "report-dir-full": report_dir_full,
    "report-dir-fills": report_dir_fills,
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
