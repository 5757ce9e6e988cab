"""The bench's baselines for the workload, on a real Docker Engine: the suite in ONE container.

- ``sequential``: ``pytest`` without xdist on the one database of ``DATABASE_URL``
  (what most CIs do);
- ``handtuned``: ``pytest -n <cores> --dist worksteal`` with a database per worker,
  made by the small plugin a team writes by hand (``handtuned_plugin.py``, passed
  with ``-p``: the controller migrates ``<db>_template``, each worker clones
  ``<db>_<worker>`` from it).

Both run the workload's test image (built from its ``Dockerfile.test`` on the
local base images, once, before anything is timed), with the project bind-mounted
read-only, and PostgreSQL as a sibling container on a docker network of their
own. A line's wall time runs from creating the network to the test container's
exit (PostgreSQL's start included), as a CI job would see it. Usage::

    .venv/bin/python bench/workload/handtuned.py PROJECT [--lines sequential,handtuned] [--workers N]
    .venv/bin/python bench/workload/handtuned.py /tmp/workload --generate 3000   # generate first
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "handtuned_plugin.py"
LABEL = "dev.slipway.bench"
IMAGE_REPO = "slipway-bench/workload-test"
PG_USER = "postgres"
PG_PASSWORD = "postgres"  # a throwaway test server on a private network
DB_NAME = "workload"
DEFAULT_ALIASES = {
    "python:3.11-slim": "slipway/python:3.11",
    "postgres:15": "slipway/postgres:15",
}
# Runs pytest as a child and reports the CPU seconds of it and everything it waited
# for (xdist workers, the migration), since the workers are pytest's children.
CPU_WRAPPER = (
    "import json, resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print('BENCH-CPU ' + json.dumps({'user': u.ru_utime, 'sys': u.ru_stime}), flush=True); sys.exit(rc)"
)
_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")
_SUMMARY_TIME = re.compile(r" in ([\d.]+)s")
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LineResult:
    """One line of the bench: wall time, what pytest said, and where the CPU went."""

    name: str
    workers: int
    wall_s: float
    postgres_ready_s: float
    exit_code: int
    passed: int
    failed: int
    skipped: int
    errors: int
    pytest_s: float | None  # pytest's own "in N s"
    test_s: float | None  # sum of the tests' durations (JUnit), setup and teardown included
    cpu_pytest_s: float | None  # user + sys of pytest and its workers
    cpu_postgres_s: float | None
    load_before: str
    load_after: str

    @property
    def tests(self) -> int:
        return self.passed + self.failed + self.errors

    def row(self, baseline: float | None = None) -> str:
        ratio = f"{self.wall_s / baseline:>7.2f}x" if baseline else f"{'':>8}"
        cpu = self.cpu_pytest_s or 0.0
        return (
            f"{self.name:<40} {self.tests:>6} {self.wall_s:>9.1f} {ratio} "
            f"{cpu:>9.1f} {self.cpu_postgres_s or 0.0:>8.1f}  {self.load_before} -> {self.load_after}"
        )


HEADER = (
    f"{'line':<40} {'tests':>6} {'wall s':>9} {'vs hand':>8} {'cpu s':>9} {'pg cpu':>8}  load (1/5/15 min)"
)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_aliases(project: Path) -> dict[str, str]:
    """``images.aliases`` of the project's pipeline.yaml (the defaults without PyYAML)."""
    try:
        import yaml
    except ImportError:
        return dict(DEFAULT_ALIASES)
    config = yaml.safe_load((project / "pipeline.yaml").read_text(encoding="utf-8")) or {}
    aliases = (config.get("images") or {}).get("aliases") or {}
    return {str(k): str(v) for k, v in aliases.items()} or dict(DEFAULT_ALIASES)


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def local_image(client: docker.DockerClient, logical: str, aliases: Mapping[str, str]) -> str:
    """The local image for a public name: its alias target (no registry to pull from)."""
    ref = aliases.get(logical, logical)
    if not _has_image(client, ref):
        raise SystemExit(f"image {ref} (for {logical}) is not here: run scripts/setup-machine first")
    return ref


def tag_base_images(client: docker.DockerClient, dockerfile: str, aliases: Mapping[str, str]) -> None:
    """Tag alias targets as the names FROM lines use, so the build needs no registry."""
    for logical in _FROM.findall(dockerfile):
        if _has_image(client, logical):
            continue
        target = local_image(client, logical, aliases)
        repo, _, tag = (
            logical.rpartition(":") if ":" in logical.rsplit("/", 1)[-1] else (logical, "", "latest")
        )
        client.images.get(target).tag(repo, tag)


def build_test_image(client: docker.DockerClient, project: Path, aliases: Mapping[str, str]) -> str:
    """The workload's test image, built from its Dockerfile.test unless its tag exists.

    The tag is a digest of Dockerfile.test and requirements.txt, which are also the
    whole build context (what the project's .dockerignore lets through)."""
    inputs = [project / "Dockerfile.test", project / "requirements.txt"]
    digest = hashlib.sha256(b"".join(hashlib.sha256(p.read_bytes()).digest() for p in inputs)).hexdigest()
    tag = f"{IMAGE_REPO}:{digest[:16]}"
    if _has_image(client, tag):
        return tag
    dockerfile = inputs[0].read_text(encoding="utf-8")
    tag_base_images(client, dockerfile, aliases)
    with tempfile.TemporaryDirectory(prefix="workload-image-") as context:
        for path in inputs:
            shutil.copy(path, Path(context) / path.name)
        print(f"building {tag} from {inputs[0]} (once; not timed)", file=sys.stderr, flush=True)
        start = time.monotonic()
        log: list[str] = []
        for item in client.api.build(
            path=context,
            dockerfile="Dockerfile.test",
            tag=tag,
            pull=False,
            rm=True,
            forcerm=True,
            labels={LABEL: "workload"},
            decode=True,
        ):
            if "error" in item:
                raise SystemExit(f"building the test image failed: {item['error']}\n" + "".join(log[-30:]))
            log.append(str(item.get("stream", "")))
        print(f"built {tag} in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return tag


def pytest_argv(line: str, workers: int) -> list[str]:
    argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", "/out/junit.xml"]
    if line == "handtuned":
        return [*argv, "-p", "handtuned_plugin", "-n", str(workers), "--dist", "worksteal"]
    if line == "sequential":
        return argv
    raise ValueError(f"unknown line {line!r}: sequential or handtuned")


def parse_summary(output: str) -> dict[str, Any]:
    """Counts and seconds from pytest's last summary line (``3 failed, 10 passed in 1.2s``)."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    seconds = None
    for text in reversed(output.splitlines()):
        if _SUMMARY_TIME.search(text) and _SUMMARY.search(text):
            for number, word in _SUMMARY.findall(text):
                key = "errors" if word.startswith("error") else word
                if key in counts:
                    counts[key] = int(number)
            seconds = float(_SUMMARY_TIME.search(text).group(1))  # type: ignore[union-attr]
            break
    cpu = None
    for text in output.splitlines():
        if text.startswith("BENCH-CPU "):
            usage = json.loads(text.removeprefix("BENCH-CPU "))
            cpu = round(float(usage["user"]) + float(usage["sys"]), 1)
    return {**counts, "pytest_s": seconds, "cpu_pytest_s": cpu}


def junit_seconds(path: Path) -> float | None:
    if not path.is_file():
        return None
    return round(sum(float(case.get("time", 0)) for case in ET.parse(path).iter("testcase")), 1)


def _container_cpu_s(container: Any) -> float | None:
    try:
        stats = container.stats(stream=False)
        return round(int(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9, 1)
    except (docker.errors.APIError, KeyError, TypeError, ValueError):
        return None


def wait_ready(container: Any, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise SystemExit("PostgreSQL exited:\n" + container.logs().decode(errors="replace")[-2000:])
        code, _ = container.exec_run(["pg_isready", "-h", "127.0.0.1", "-U", PG_USER])
        if code == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"PostgreSQL was not ready after {timeout_s:.0f} s")


def run_line(
    client: docker.DockerClient,
    project: Path,
    line: str,
    *,
    image: str,
    postgres_image: str,
    workers: int,
    log_dir: Path | None = None,
) -> LineResult:
    """Run the workload's whole suite once as ``line``; returns its figures."""
    project = project.resolve()
    run = f"{line}-{uuid.uuid4().hex[:8]}"
    labels = {LABEL: run}
    pg_name = f"workload-pg-{run}"
    admin_url = f"postgresql://{PG_USER}:{PG_PASSWORD}@{pg_name}:5432/postgres"
    env = {"DATABASE_URL": f"postgresql://{PG_USER}:{PG_PASSWORD}@{pg_name}:5432/{DB_NAME}"}
    if line == "handtuned":
        env |= {
            "PYTHONPATH": "/bench",
            "HANDTUNED_ADMIN_URL": admin_url,
            "HANDTUNED_DB": DB_NAME,
            "HANDTUNED_MIGRATE": json.dumps(["python", "-m", "app.migrate"]),
        }
    argv = ["python", "-c", CPU_WRAPPER, *pytest_argv(line, workers)]
    out = Path(tempfile.mkdtemp(prefix=f"workload-{line}-"))
    network = None
    containers: list[Any] = []
    load_before = loadavg()
    start = time.monotonic()
    try:
        network = client.networks.create(f"workload-{run}", labels=labels)
        postgres = client.containers.run(
            postgres_image,
            name=pg_name,
            detach=True,
            network=network.name,
            labels=labels,
            environment={"POSTGRES_USER": PG_USER, "POSTGRES_PASSWORD": PG_PASSWORD, "POSTGRES_DB": DB_NAME},
        )
        containers.append(postgres)
        wait_ready(postgres)
        ready = time.monotonic() - start
        tests = client.containers.run(
            image,
            command=argv,
            detach=True,
            network=network.name,
            labels=labels,
            environment=env,
            working_dir="/src",
            volumes={
                str(project): {"bind": "/src", "mode": "ro"},
                str(PLUGIN.parent): {"bind": "/bench", "mode": "ro"},
                str(out): {"bind": "/out", "mode": "rw"},
            },
        )
        containers.append(tests)
        exit_code = int(tests.wait()["StatusCode"])
        wall = time.monotonic() - start
        pg_cpu = _container_cpu_s(postgres)
        output = tests.logs().decode(errors="replace")
    finally:
        for container in reversed(containers):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
        if network is not None:
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{line}.log").write_text(output, encoding="utf-8")
    summary = parse_summary(output)
    test_s = junit_seconds(out / "junit.xml")
    shutil.rmtree(out, ignore_errors=True)
    return LineResult(
        name={
            "sequential": "sequential, one container",
            "handtuned": f"hand-tuned -n {workers} --dist worksteal",
        }[line],
        workers=workers if line == "handtuned" else 0,
        wall_s=round(wall, 1),
        postgres_ready_s=round(ready, 1),
        exit_code=exit_code,
        passed=summary["passed"],
        failed=summary["failed"],
        skipped=summary["skipped"],
        errors=summary["errors"],
        pytest_s=summary["pytest_s"],
        test_s=test_s,
        cpu_pytest_s=summary["cpu_pytest_s"],
        cpu_postgres_s=pg_cpu,
        load_before=load_before,
        load_after=loadavg(),
    )


def run_lines(
    project: Path,
    lines: Sequence[str] = ("sequential", "handtuned"),
    *,
    workers: int | None = None,
    log_dir: Path | None = None,
) -> list[LineResult]:
    """Build (or find) the test image, then run each line once, in order."""
    client = docker.from_env()
    try:
        aliases = read_aliases(project)
        image = build_test_image(client, project, aliases)
        postgres_image = local_image(client, "postgres:15", aliases)
        count = workers or machine_cores()
        return [
            run_line(
                client,
                project,
                line,
                image=image,
                postgres_image=postgres_image,
                workers=count,
                log_dir=log_dir,
            )
            for line in lines
        ]
    finally:
        client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("project", type=Path, help="a generated workload (bench/workload/generate.py)")
    parser.add_argument(
        "--lines", default="sequential,handtuned", help="comma-separated: sequential, handtuned"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="xdist workers (default: the machine's cores)"
    )
    parser.add_argument("--generate", type=int, metavar="TESTS", help="generate the project first, this size")
    parser.add_argument("--logs", type=Path, default=None, help="keep each line's pytest output here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    if args.generate:
        try:
            from bench.workload import generate
        except ImportError:  # run as a script
            import generate  # type: ignore[no-redef]
        generate.generate(args.project, tests=args.generate)
    lines = [name.strip() for name in args.lines.split(",") if name.strip()]
    for name in lines:
        pytest_argv(name, 1)  # unknown names fail before anything runs
    results = run_lines(args.project, lines, workers=args.workers, log_dir=args.logs)
    baseline = next((r.wall_s for r in results if r.name.startswith("hand-tuned")), None)
    print(f"workload {args.project}, {machine_cores()} cores")
    print(HEADER)
    for result in results:
        print(result.row(baseline))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    failed = [r for r in results if r.exit_code != 0 or r.failed or r.errors]
    for r in failed:
        print(f"{r.name}: pytest exit {r.exit_code}, {r.failed} failed, {r.errors} errors", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
