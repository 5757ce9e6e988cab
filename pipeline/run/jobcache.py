"""The job-result cache around a stage kind: a job whose inputs are unchanged is not run.

What goes into a job's key (``job_key``), and nothing else:

- every container spec of the job (``spec_fingerprint``): image (the engine's local
  image id when it has one, else the reference), commands, env names and values,
  secret *names*, workdir, user, outputs, copied directories' selections, single
  files by content, services; for an image built from a Dockerfile, the Dockerfile's
  and the build context's content;
- the content of the files the kind's ``cache_inputs`` globs select under the project
  root (less the run's own report directory, ``.slipway`` and the local cache);
- the job's facts: name, stage, kind, shard, and what the kind's optional
  ``cache_facts(ctx)`` adds;
- Slipway's version and the names (never values) of all configured secrets.

A hit restores the stored artifacts and log and returns ``cached``; a success is stored.
Failures are never stored, and the cache never fails a run: any trouble with it is a
warning and the job simply runs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from pipeline.cache.keys import files_digest, input_files, job_key, spec_fingerprint
from pipeline.cache.store import Entry, Store, log
from pipeline.model.errors import SlipwayError
from pipeline.model.outcome import JobOutcome, JobStatus, TestTotals
from pipeline.model.spec import ContainerSpec, Image, ImageBuild, ImageRef
from pipeline.plan import Job
from pipeline.run.volumesync import VolumeSync
from pipeline.stages.base import JobContext, PipelineRun, StageKind
from pipeline.stages.state import OncePerKey

KEY_PREFIX = "jobs/"
LOG_NAME = "job.log"
REPORT_PREFIX = "report"  # stored artifacts keep their path under the report dir
STATE_DIR = ".slipway"  # last-run durations etc., written by every run: never an input
RESTORED_MARK = "[slipway] restored from the cache:"


def slipway_version() -> str:
    try:
        return importlib.metadata.version("slipway")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"  # a source checkout without metadata: still one stable value


@dataclass(frozen=True, slots=True)
class JobCache:
    """A cacheable job: its key parts, taken once before the job runs."""

    ctx: JobContext
    store: Store
    kind: StageKind
    facts: Mapping[str, Any]  # everything but the image digests
    inputs: Mapping[str, str]  # the input manifest, hashed before the run
    key: str  # the key with the image digests known before the run

    @property
    def job(self) -> str:
        return self.ctx.job.name


async def open_job_cache(ctx: JobContext, kind: StageKind) -> JobCache | None:
    """The job's cache, or None when it is not cacheable or there is no store."""
    store = ctx.run.store
    if store is None:
        return None
    try:
        globs = kind.cache_inputs(ctx)
        if globs is None:
            return None
        facts = await anyio.to_thread.run_sync(_facts, ctx, kind)
        root = ctx.run.config.project_root
        inputs = await anyio.to_thread.run_sync(
            lambda: input_files((*globs, *_own_files(ctx, root)), root)
        )
        key = await _key(ctx, facts, inputs)
    except Exception as exc:  # the cache must never cost a job: run it uncached
        log.warning("cache: cannot compute the key of job %s, running it uncached: %s", ctx.job.name, exc)
        return None
    return JobCache(ctx=ctx, store=store, kind=kind, facts=facts, inputs=inputs, key=key)


async def run_cached(ctx: JobContext, kind: StageKind, volumes: VolumeSync | None = None) -> JobOutcome:
    """Run the job through its kind, unless the store holds a result for its key."""
    cache = await open_job_cache(ctx, kind)
    if cache is not None and not ctx.run.options.no_cache:
        hit = await restore(cache)
        if hit is not None:
            return hit
    if volumes is not None:
        await volumes.before_job(ctx, kind)  # fill the cache volumes it mounts, first time only
    started = time.monotonic()
    outcome = await kind.run(ctx)
    if cache is not None and outcome.status is JobStatus.SUCCESS:
        # --no-cache still stores: it refreshes the entry instead of leaving a stale one.
        await save(cache, outcome, time.monotonic() - started)
    return outcome


class StoreProbe:
    """Whether the job cache will answer a job of this run: its result is stored under the
    key it has now. Asked by jobs that share something with the others (the pytest
    kind's CPU budget); each job is looked up once."""

    def __init__(self, run: PipelineRun, kinds: Mapping[str, StageKind]) -> None:
        self._run = run
        self._kinds = kinds
        self._answers: OncePerKey[str, bool] = OncePerKey()

    async def answers(self, job: Job) -> bool:
        return await self._answers.get(job.name, lambda: self._look(job))

    async def _look(self, job: Job) -> bool:
        kind = self._kinds.get(job.kind)
        if kind is None or self._run.options.no_cache:
            return False
        cache = await open_job_cache(self._run.for_job(job), kind)
        if cache is None:
            return False
        return await anyio.to_thread.run_sync(cache.store.stat, cache.key) is not None


# -- the key --------------------------------------------------------------------------


def _own_files(ctx: JobContext, root: Path) -> list[str]:
    """Exclusions for what runs write under the project (reports, state, the local cache)."""
    own = [ctx.run.report_dir, ctx.run.config.base_dir / STATE_DIR]
    if ctx.run.store is not None and ctx.run.store.local_dir is not None:
        own.append(ctx.run.store.local_dir)
    excluded = []
    real_root = root.resolve()
    for path in own:
        try:
            rel = path.resolve().relative_to(real_root)
        except ValueError:
            continue  # not under the project: nothing to exclude
        if rel != Path("."):
            excluded.append(f"!{rel.as_posix()}")
    return excluded


def _build_facts(image: Image, excludes: list[str]) -> dict[str, str] | None:
    """A Dockerfile build's content: its Dockerfile and context (the spec has only names)."""
    if not isinstance(image, ImageBuild):
        return None
    dockerfile = image.context / image.dockerfile
    try:
        dockerfile_sha = hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    except OSError:
        dockerfile_sha = "missing"
    return {"dockerfile": dockerfile_sha, "context": files_digest(["**", *excludes], image.context)}


def _facts(ctx: JobContext, kind: StageKind) -> dict[str, Any]:
    # A kind may give specs normalised for the key (the pytest kind leaves out its
    # worker count and CPU limit, which depend on what else runs, not on the result).
    specs = kind.cache_specs(ctx)
    root = ctx.run.config.project_root
    excludes = _own_files(ctx, root)
    builds = {}
    for i, spec in enumerate(specs):
        for name, image in [("", spec.image), *((s.name, s.image) for s in spec.services)]:
            facts = _build_facts(image, excludes)
            if facts is not None:
                builds[f"{i}:{name}"] = facts
    extra = dict(kind.cache_facts(ctx))
    job = ctx.job
    return {
        "job": job.name,
        "stage": job.stage,
        "kind": job.kind,
        "shard": str(job.shard) if job.shard else None,
        "specs": specs,
        "builds": builds,
        "extra": extra,
    }


async def _image_digest(ctx: JobContext, image: Image) -> str | None:
    """The engine's id for an image it already has (a tag can move; an id cannot)."""
    if not isinstance(image, ImageRef):
        return None
    try:
        found = await ctx.run.engine.image_digest(image.ref)
    except SlipwayError:
        return None  # no digest: the reference stands in, the job will say what is wrong
    return found or None


async def _key(ctx: JobContext, facts: Mapping[str, Any], inputs: Mapping[str, str]) -> str:
    fingerprints = []
    specs: list[ContainerSpec] = facts["specs"]
    for spec in specs:
        services = {}
        for s in spec.services:
            digest = await _image_digest(ctx, s.image)
            if digest:
                services[s.name] = digest
        fingerprints.append(
            spec_fingerprint(
                spec, image_digest=await _image_digest(ctx, spec.image), service_digests=services
            )
        )
    document = {**facts, "specs": fingerprints}
    digest = job_key(
        document,
        (),
        ctx.run.config.project_root,
        version=slipway_version(),
        secret_names=ctx.run.config.model.secrets,
        inputs=inputs,
    )
    return KEY_PREFIX + digest


# -- hit ------------------------------------------------------------------------------


async def restore(cache: JobCache) -> JobOutcome | None:
    """The stored outcome, with artifacts and log back in place; None on a miss."""
    try:
        entry = await anyio.to_thread.run_sync(cache.store.get, cache.key)
        if entry is None:
            return None
        return await anyio.to_thread.run_sync(_restore, cache, entry)
    except Exception as exc:  # e.g. a stored meta from an odd writer: the job runs instead
        log.warning("cache: entry %s for job %s could not be restored, running the job: %s",
                    cache.key, cache.job, exc)
        return None


def _restore(cache: JobCache, entry: Entry) -> JobOutcome | None:
    ctx = cache.ctx
    report_dir = ctx.run.report_dir
    meta = entry.meta
    with tempfile.TemporaryDirectory(prefix=".slipway-restore-", dir=report_dir) as tmp:
        files = entry.extract(Path(tmp))
        if files is None:
            return None  # logged by extract
        stored_report = Path(tmp) / REPORT_PREFIX
        if stored_report.is_dir():
            shutil.copytree(stored_report, report_dir, dirs_exist_ok=True)
        header = (
            f"{RESTORED_MARK} key {entry.key}, stored by run {meta.get('run_id', '?')} "
            f"at {entry.created.isoformat(timespec='seconds')} "
            f"(the job took {float(meta.get('duration_s', 0.0)):.1f}s then); its log follows\n"
        )
        stored_log = Path(tmp) / LOG_NAME
        body = stored_log.read_bytes() if stored_log.is_file() else b""
        ctx.log_path.write_bytes(header.encode() + body)
    tests = meta.get("tests")
    data = meta.get("data")
    artifacts = tuple(report_dir / rel for rel in meta.get("artifacts", []))
    return JobOutcome(
        status=JobStatus.CACHED,
        artifacts=artifacts,
        tests=TestTotals.from_dict(tests) if isinstance(tests, dict) else None,
        detail=f"cached: {entry.key.removeprefix(KEY_PREFIX)[:12]} from run {meta.get('run_id', '?')}",
        data=data if isinstance(data, dict) else {},
    )


# -- success --------------------------------------------------------------------------


async def save(cache: JobCache, outcome: JobOutcome, duration_s: float) -> bool:
    """Store a successful outcome under the job's key; False (with a warning) if not."""
    try:
        # Images pulled or built by the job have an id now: key by it, as the next run will.
        key = await _key(cache.ctx, cache.facts, cache.inputs)
        return await anyio.to_thread.run_sync(_save, cache, key, outcome, duration_s)
    except Exception as exc:  # a result we cannot store is a missed saving, not a failure
        log.warning("cache: result of job %s not stored: %s", cache.job, exc)
        return False


def _secret_values(cache: JobCache) -> list[bytes]:
    names = cache.ctx.run.config.model.secrets
    return [os.environ[n].encode() for n in names if len(os.environ.get(n, "")) >= 3]


def _holds_secret(paths: list[Path], secrets: list[bytes]) -> Path | None:
    """The first file that contains a secret's value (stored entries may be shared)."""
    if not secrets:
        return None
    for top in paths:
        for path in [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if any(s in data for s in secrets):
                return path
    return None


def _save(cache: JobCache, key: str, outcome: JobOutcome, duration_s: float) -> bool:
    ctx = cache.ctx
    report_dir = ctx.run.report_dir.resolve()
    files: dict[str, Path] = {}
    if ctx.log_path.is_file():
        files[LOG_NAME] = ctx.log_path
    stored: list[Path] = [ctx.artifacts_dir] if ctx.artifacts_dir.exists() else []
    stored += [p for p in outcome.artifacts if p.exists()]
    for path in stored:
        try:
            rel = path.resolve().relative_to(report_dir).as_posix()
        except ValueError:
            log.warning("cache: job %s artifact %s is outside the report dir; not storing the job",
                        cache.job, path)
            return False
        if not any(rel == n or rel.startswith(n + "/") for n in _relatives(files)):
            files[f"{REPORT_PREFIX}/{rel}"] = path
    leaked = _holds_secret(list(files.values()), _secret_values(cache))
    if leaked is not None:
        log.warning("cache: job %s wrote a secret's value into %s; not storing its result",
                    cache.job, leaked.name)
        return False
    meta: dict[str, Any] = {
        "kind": "job",
        "job": ctx.job.name,
        "stage": ctx.job.stage,
        "run_id": ctx.run.run_id,
        "duration_s": round(duration_s, 3),
        "stored": datetime.now(UTC).isoformat(timespec="seconds"),
        "artifacts": [_rel(p, report_dir) for p in outcome.artifacts if p.exists()],
    }
    if outcome.tests is not None:
        meta["tests"] = outcome.tests.as_dict()
    if outcome.data:
        try:
            json.dumps(outcome.data)
            meta["data"] = dict(outcome.data)
        except (TypeError, ValueError):
            log.warning("cache: job %s report data is not JSON; storing the result without it", cache.job)
    return cache.store.put(key, files, meta)


def _relatives(files: Mapping[str, Path]) -> list[str]:
    return [n.removeprefix(REPORT_PREFIX + "/") for n in files if n.startswith(REPORT_PREFIX + "/")]


def _rel(path: Path, report_dir: Path) -> str:
    return path.resolve().relative_to(report_dir).as_posix()


__all__ = ["JobCache", "open_job_cache", "restore", "run_cached", "save"]
