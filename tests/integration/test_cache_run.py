"""The job-result cache and cache volumes through `python -m pipeline run` on the real
Docker Engine, with a local store and a real S3-compatible server (moto_server).

One small project is run several times in order (the tests of this module share it and
depend on that order): cold, warm, fresh runner from S3, one source changed, --no-cache,
S3 dying mid-run, a corrupt entry. Failures and results holding a secret are not stored,
and no secret value reaches a key or an entry.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import docker
import docker.errors
import pytest
from s3server import MotoServer, fake_aws_environment

from pipeline.cache import LocalStore, restore_volume_archive, save_volume_archive
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.cachevolumes import shared_volume
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.spec import CacheMount, ContainerSpec, ImageRef

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-token-9f8e7d"
BUCKET = "slipway-run-cache"
SLEEP_S = 3

PIPELINE = """\
project: {{name: cachedemo, root: app}}
secrets: [DEMO_TOKEN]
images:
  aliases: {{python:3.11-slim: slipway/python:3.11}}
stages:
  - name: alpha
    kind: command
    image: python:3.11-slim
    source: alpha
    workdir: alpha
    secrets: [DEMO_TOKEN]
    caches: [{{name: {volume}, path: /deps, key_files: [app/alpha/deps.lock]}}]
    commands:
      - [python, -c, "{alpha}"]
    outputs: [/tmp/out]
  - name: beta
    kind: command
    image: python:3.11-slim
    source: beta
    workdir: beta
    commands: [[python, -c, "import time; time.sleep({sleep}); print('beta ran', open('b.py').read())"]]
  - name: broken
    kind: command
    image: python:3.11-slim
    source: beta
    commands: [[python, -c, "raise SystemExit(4)"]]
  - name: leaky
    kind: command
    image: python:3.11-slim
    source: beta
    secrets: [DEMO_TOKEN]
    commands: [[python, -c, "import os, pathlib; pathlib.Path('/tmp/t.txt').write_text(os.environ['DEMO_TOKEN'])"]]
    outputs: [/tmp/t.txt]
"""
# Prints what the cache volume held (proves a restore), prints the secret (the log
# must mask it), sleeps (so a hit is measurably faster) and exports a file.
ALPHA = (
    "import os, pathlib, time; "
    "d = pathlib.Path('/deps/marker.txt'); "
    "print('volume held:', d.read_text() if d.exists() else 'nothing'); "
    "d.write_text('deps of ' + open('deps.lock').read().strip()); "
    "print('token', os.environ['DEMO_TOKEN']); "
    "time.sleep({sleep}); "
    "pathlib.Path('/tmp/out').mkdir(); "
    "pathlib.Path('/tmp/out/result.txt').write_text('alpha saw ' + open('a.py').read())"
)
MAIN = ["alpha", "beta"]


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        c = docker.from_env(timeout=30)
        c.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a Docker Engine (scripts/setup-machine starts one): {exc}")
    try:
        c.images.get(DEFAULT_ALIASES["python:3.11-slim"])
    except docker.errors.ImageNotFound:
        pytest.fail("slipway/python:3.11 missing: run `python -m pipeline images bootstrap`")
    yield c
    c.close()


@pytest.fixture(scope="module")
def env_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("aws")
    with fake_aws_environment(home):
        yield


@pytest.fixture(scope="module")
def s3(env_base: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.wait_ready()
        boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


class Project:
    """The temp project, its cache volume, and how to run the CLI on it."""

    def __init__(self, root: Path, s3: MotoServer, client: docker.DockerClient) -> None:
        self.root = root
        self.s3 = s3
        self.client = client
        self.volume = f"t{uuid.uuid4().hex[:10]}"
        self.local = root / "cache-1"  # the first runner's local store (not under app/)
        app = root / "app"
        (app / "alpha").mkdir(parents=True)
        (app / "beta").mkdir()
        (app / "alpha" / "a.py").write_text("A = 1\n")
        (app / "alpha" / "deps.lock").write_text("lock v1\n")
        (app / "beta" / "b.py").write_text("B = 1\n")
        (root / "pipeline.yaml").write_text(
            PIPELINE.format(volume=self.volume, alpha=ALPHA.format(sleep=SLEEP_S), sleep=SLEEP_S)
        )
        self.runs = 0

    def env(self, local: Path, s3_url: str | None, endpoint: str | None = None) -> dict[str, str]:
        env = {**os.environ, "DEMO_TOKEN": SECRET, "SLIPWAY_CACHE_DIR": str(local)}
        env.pop("SLIPWAY_CACHE_S3_URL", None)
        env.pop("SLIPWAY_CACHE_S3_ENDPOINT", None)
        if s3_url:
            env["SLIPWAY_CACHE_S3_URL"] = s3_url
            env["SLIPWAY_CACHE_S3_ENDPOINT"] = endpoint or self.s3.url
        return env

    def start(
        self,
        *args: str,
        local: Path | None = None,
        s3_url: str | None = f"s3://{BUCKET}/run",
        endpoint: str | None = None,
    ) -> tuple[subprocess.Popen[str], Path]:
        self.runs += 1
        out = self.root / f"report-{self.runs}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run", "--engine", "docker", "--report-dir", str(out), *args],
            cwd=self.root,
            env=self.env(local or self.local, s3_url, endpoint),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return proc, out

    def run(self, *args: str, expect: int = 0, **kw: Any) -> Run:
        proc, out = self.start(*args, **kw)
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == expect, stdout + stderr
        return Run(out, stderr)

    def remove_volume(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(shared_volume(self.volume)).remove(force=True)


class Run:
    def __init__(self, out: Path, stderr: str) -> None:
        self.out = out
        self.stderr = stderr
        self.report = json.loads((out / "report.json").read_text())
        self.jobs = {j["name"]: j for j in self.report["jobs"]}

    @property
    def statuses(self) -> dict[str, str]:
        return {n: j["status"] for n, j in self.jobs.items()}

    def log(self, job: str) -> str:
        return (self.out / self.jobs[job]["log"]).read_text()

    @property
    def wall_s(self) -> float:
        r = self.report
        return (datetime.fromisoformat(r["finished"]) - datetime.fromisoformat(r["started"])).total_seconds()

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "cache" in line and "going on without it" in line]


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, s3: MotoServer, client: docker.DockerClient
) -> Iterator[Project]:
    p = Project(tmp_path_factory.mktemp("cacheproject"), s3, client)
    yield p
    p.remove_volume()


@pytest.fixture(scope="module")
def cold(project: Project) -> Run:
    project.remove_volume()
    return project.run("--only", "alpha", "--only", "beta")


@pytest.fixture(scope="module")
def warm(project: Project, cold: Run) -> Run:
    return project.run("--only", "alpha", "--only", "beta")


def test_second_run_is_all_cached_with_logs_and_artifacts(cold: Run, warm: Run) -> None:
    assert cold.statuses == {"alpha": "success", "beta": "success"}
    assert "volume held: nothing" in cold.log("alpha")
    assert "nothing stored yet" in cold.stderr and "saved to the store" in cold.stderr
    assert warm.statuses == {"alpha": "cached", "beta": "cached"}
    # The log is the stored one, said to be restored, with its run named.
    log = warm.log("alpha")
    first, rest = log.split("\n", 1)
    assert first.startswith("[slipway] restored from the cache: key jobs/")
    assert cold.report["run_id"] in first
    assert rest == cold.log("alpha")
    assert "token ***" in rest and SECRET not in rest
    # The artifacts are back where the report says they are.
    assert warm.jobs["alpha"]["artifacts"] == cold.jobs["alpha"]["artifacts"]
    (artifact,) = warm.jobs["alpha"]["artifacts"]
    assert (warm.out / artifact / "result.txt").read_text() == "alpha saw A = 1\n"
    # The jobs sleep SLEEP_S seconds each when they run; a hit never does. (How much
    # faster a warm run is, is the bench's to measure: bench/wallclock_bench.py.)
    assert cold.wall_s >= SLEEP_S
    assert all(j["duration_s"] < SLEEP_S for j in warm.jobs.values()), warm.jobs


def test_fresh_runner_gets_results_and_volume_from_s3(project: Project, warm: Run) -> None:
    # A new runner: empty local store, no Docker volume; the bucket is all it has.
    project.remove_volume()
    fresh = project.run("--only", "alpha", "--only", "beta", local=project.root / "cache-2")
    assert fresh.statuses == {"alpha": "cached", "beta": "cached"}
    assert fresh.log("alpha").startswith("[slipway] restored from the cache:")
    # Every job was a hit, so no volume was touched: the restore waits for a job that runs.
    assert "cache volume" not in fresh.stderr


def test_changed_source_reruns_only_its_job_with_the_volume_restored(project: Project, warm: Run) -> None:
    project.remove_volume()
    (project.root / "app" / "alpha" / "a.py").write_text("A = 2\n")
    changed = project.run("--only", "alpha", "--only", "beta", local=project.root / "cache-3")
    assert changed.statuses == {"alpha": "success", "beta": "cached"}
    # The volume came back from the store (exact: the lock file did not change).
    assert "volume held: deps of lock v1" in changed.log("alpha")
    assert f"cache volume {project.volume}: restored from volumes/{project.volume}/" in changed.stderr
    assert "(exact)" in changed.stderr
    result = changed.out / changed.jobs["alpha"]["artifacts"][0] / "result.txt"
    assert result.read_text() == "alpha saw A = 2\n"


def test_no_cache_runs_everything(project: Project, warm: Run) -> None:
    forced = project.run("--only", "alpha", "--only", "beta", "--no-cache")
    assert forced.statuses == {"alpha": "success", "beta": "success"}
    assert "--no-cache" in forced.stderr


def test_failures_and_results_holding_a_secret_are_not_stored(project: Project, warm: Run) -> None:
    local = project.root / "cache-4"
    first = project.run("--only", "broken", "--only", "leaky", expect=1, local=local)
    again = project.run("--only", "broken", "--only", "leaky", expect=1, local=local)
    for run in (first, again):
        assert run.statuses == {"broken": "failed", "leaky": "success"}
    assert "wrote a secret's value" in first.stderr
    stored_jobs = {i.job for i in LocalStore(local).list("jobs/")}
    assert not stored_jobs & {"broken", "leaky"}


def test_stopping_s3_during_a_run_leaves_a_green_run_and_one_warning(
    project: Project, warm: Run, env_base: None, tmp_path: Path
) -> None:
    doomed = MotoServer(tmp_path / "doomed.log")
    try:
        doomed.wait_ready()
        boto3.client("s3", endpoint_url=doomed.url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        (project.root / "app" / "beta" / "b.py").write_text("B = 2\n")  # beta must run and store
        proc, out = project.start("--only", "alpha", "--only", "beta", local=tmp_path / "local", endpoint=doomed.url)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # S3 answered the lookups; kill it while the jobs run
            seen.append(line)
            if line.startswith("[start]"):
                doomed.stop()
                break
        stdout, rest = proc.communicate(timeout=240)
    finally:
        doomed.stop()
    stderr = "".join(seen) + rest
    assert proc.returncode == 0, stdout + stderr
    run = Run(out, stderr)
    assert run.statuses == {"alpha": "success", "beta": "success"}
    unreachable = [line for line in stderr.splitlines() if "unreachable" in line]
    assert len(unreachable) == 1, stderr
    # The local tier kept the results: the next run on this runner is all cached.
    again = project.run("--only", "alpha", "--only", "beta", local=tmp_path / "local", s3_url=None)
    assert again.statuses == {"alpha": "cached", "beta": "cached"}


def test_a_corrupt_entry_is_reported_and_the_job_reruns(project: Project, warm: Run, tmp_path: Path) -> None:
    local = tmp_path / "local"
    first = project.run("--only", "beta", local=local, s3_url=None)
    assert first.statuses == {"beta": "success"}
    entries = [i for i in LocalStore(local).list("jobs/") if i.job == "beta"]
    assert entries
    for info in entries:
        for blob in (local / "entries" / info.key).glob("*.tar.gz"):
            blob.write_bytes(blob.read_bytes()[:-16] + b"corrupted-bytes!")
    rerun = project.run("--only", "beta", local=local, s3_url=None)
    assert rerun.statuses == {"beta": "success"}
    assert "corrupt" in rerun.stderr


def test_no_secret_value_in_any_key_or_entry(project: Project, warm: Run) -> None:
    assert project.runs >= 2
    needle = SECRET.encode()
    checked = 0
    for path in project.root.rglob("*"):
        if not path.is_file() or "cache-" not in str(path.relative_to(project.root)):
            continue
        assert SECRET not in str(path)
        data = path.read_bytes()
        if path.name.endswith(".tar.gz"):
            data = gzip.decompress(data)
        assert needle not in data, path
        checked += 1
    s3 = boto3.client("s3", endpoint_url=project.s3.url, region_name="us-east-1")
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        assert SECRET not in obj["Key"]
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        if obj["Key"].endswith(".tar.gz"):
            body = gzip.decompress(body)
        assert needle not in body, obj["Key"]
        checked += 1
    assert checked > 10


def test_cache_ls_and_prune(project: Project, warm: Run) -> None:
    env = project.env(project.local, None)
    ls = subprocess.run(
        [sys.executable, "-m", "pipeline", "cache", "ls"], cwd=project.root, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert ls.returncode == 0, ls.stderr
    assert "jobs/" in ls.stdout and "alpha" in ls.stdout and f"volume {project.volume}" in ls.stdout
    prune = subprocess.run(
        [sys.executable, "-m", "pipeline", "cache", "prune", "--older-than", "0s", "--prefix", "jobs/"],
        cwd=project.root, env=env, capture_output=True, text=True, timeout=60,
    )
    assert prune.returncode == 0, prune.stderr
    assert LocalStore(project.local).list("jobs/") == []
    assert LocalStore(project.local).list("volumes/")  # outside the prefix: kept
    bad = subprocess.run(
        [sys.executable, "-m", "pipeline", "cache", "prune", "--older-than", "soon"],
        cwd=project.root, env=env, capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2 and "not understood" in bad.stderr


# -- cache volumes through the store, engine level -----------------------------------------


@pytest.mark.anyio
async def test_volume_archive_roundtrip_into_a_fresh_volume(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    cache = f"t{uuid.uuid4().hex[:10]}"
    volume = shared_volume(cache)
    engine = DockerEngine(RunContext(run_id=f"t-{uuid.uuid4().hex[:8]}"), aliases=DEFAULT_ALIASES)
    store = LocalStore(tmp_path / "store")
    image = ImageRef(ref="python:3.11-slim")
    mount = (CacheMount(name=cache, path="/deps"),)
    write = ContainerSpec(
        name="write",
        image=image,
        caches=mount,
        commands=(("python", "-c", "import pathlib; p = pathlib.Path('/deps/sub'); p.mkdir(); "
                   "(p / 'wheel.bin').write_bytes(bytes(range(256)) * 4096); "
                   "pathlib.Path('/deps/run.sh').write_text('#!/bin/sh'); pathlib.Path('/deps/run.sh').chmod(0o755)"),),
    )
    check = ContainerSpec(
        name="check",
        image=image,
        caches=mount,
        commands=(("python", "-c", "import os, pathlib; "
                   "assert pathlib.Path('/deps/sub/wheel.bin').read_bytes() == bytes(range(256)) * 4096; "
                   "assert os.access('/deps/run.sh', os.X_OK); print('restored ok')"),),
    )
    try:
        assert await engine.cache_volume_empty(cache)  # missing counts as empty
        assert (await engine.run(write, log_path=tmp_path / "w.log", output_dir=tmp_path / "o")).ok
        assert not await engine.cache_volume_empty(cache)
        tar = tmp_path / "export.tar"
        await engine.export_cache_volume(cache, tar)
        assert save_volume_archive(store, cache, "lock-1", tar)
        client.volumes.get(volume).remove(force=True)
        assert await engine.cache_volume_empty(cache)
        # Another lock hash: the fallback (newest archive of the volume) is used.
        restored = restore_volume_archive(store, cache, "lock-2", dest_dir=tmp_path / "r")
        assert restored is not None and not restored.exact
        await engine.import_cache_volume(cache, restored.tar)
        result = await engine.run(check, log_path=tmp_path / "c.log", output_dir=tmp_path / "o")
        assert result.ok, (tmp_path / "c.log").read_text()
        assert "restored ok" in (tmp_path / "c.log").read_text()
    finally:
        await engine.aclose()
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(volume).remove(force=True)
    # The helper containers carried the run's labels and are gone with it.
    assert client.containers.list(all=True, filters={"label": f"dev.slipway.run={engine._ctx.run_id}"}) == []


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

