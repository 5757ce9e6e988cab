"""Cache volumes (pip, uv, npm...) for runners that start empty: restored from the store
before a run, saved to it after a green one.

Each shared or locked cache volume the run's specs mount is keyed by a hash of its lock
files: the volume's ``key_files`` in pipeline.yaml, else the lock files found in the
directories the jobs copy in. Just before the first job that mounts it runs (not when
every such job is cached), a volume that is missing or empty on this engine is filled
from the archive for that hash, else from the volume's newest archive (like
``restore-keys``). After a green run, a volume whose exact archive the store lacks is
saved. Private volumes live for one job and are never saved.

An engine that cannot move a volume's content in and out (Dagger) raises
``NotSupported`` at the first try; the run then goes on without volume archives.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from pipeline.cache.keys import canonical_json, input_files
from pipeline.cache.store import Store, log
from pipeline.cache.volumes import restore_volume_archive, save_volume_archive, volume_archive_exists
from pipeline.engines.base import Engine
from pipeline.model.errors import NotSupported
from pipeline.model.spec import CacheMount, ContainerSpec, Sharing
from pipeline.plan import Job
from pipeline.stages import KINDS
from pipeline.stages.base import JobContext, PipelineRun, StageKind

# Lock files that say what a dependency cache holds, looked for when key_files is not set.
LOCK_FILES = (
    "**/uv.lock",
    "**/poetry.lock",
    "**/Pipfile.lock",
    "**/requirements*.txt",
    "**/pdm.lock",
    "**/package-lock.json",
    "**/npm-shrinkwrap.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
)

Emit = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class VolumeState:
    """One cache volume of the run: its lock hash and whether to save it afterwards."""

    name: str
    lock_hash: str
    save: bool


def _lock_manifest(ctx: JobContext, mount: CacheMount) -> dict[str, str]:
    """``{file: digest}`` of the lock files that key ``mount`` for this job."""
    base = ctx.run.config.base_dir
    configured = next((c for c in getattr(ctx.stage, "caches", ()) if c.name == mount.name), None)
    key_files = tuple(getattr(configured, "key_files", ()))
    if key_files:
        return input_files(key_files, base)
    found: dict[str, str] = {}
    kind = KINDS[ctx.job.kind]
    for spec in kind.specs(ctx):
        for d in spec.directories:
            prefix = d.source.resolve().as_posix()
            for rel, digest in input_files(LOCK_FILES, d.source).items():
                found[f"{prefix}/{rel}"] = digest
    return found


def volume_locks(run: PipelineRun, jobs: Iterable[Job]) -> dict[str, str]:
    """``{cache volume: lock hash}`` for the shared and locked volumes the jobs mount."""
    manifests: dict[str, dict[str, str]] = {}
    for job in jobs:
        kind = KINDS.get(job.kind)
        if kind is None:
            continue
        ctx = run.for_job(job)
        try:
            mounts = [c for spec in kind.specs(ctx) for c in spec.caches if c.sharing is not Sharing.PRIVATE]
            for mount in mounts:
                manifests.setdefault(mount.name, {}).update(_lock_manifest(ctx, mount))
        except Exception as exc:  # a job whose specs fail now fails in the run, with its message
            log.warning("cache volumes: cannot read the specs of job %s: %s", job.name, exc)
    # Host paths differ between runners; the lock files' content and names must not.
    base = run.config.base_dir.resolve().as_posix() + "/"
    return {
        name: hashlib.sha256(
            canonical_json({k.removeprefix(base): v for k, v in manifest.items()}).encode()
        ).hexdigest()[:32]
        for name, manifest in sorted(manifests.items())
    }


class VolumeSync:
    """The run's cache volumes: each restored at most once, just before the first job
    that mounts it runs (a run whose jobs are all cached touches no volume)."""

    def __init__(self, store: Store, engine: Engine, locks: Mapping[str, str], emit: Emit) -> None:
        self._store = store
        self._engine = engine
        self._locks = dict(locks)
        self._emit = emit
        self._guards: dict[str, anyio.Lock] = {}
        self.states: dict[str, VolumeState] = {}
        self.unsupported: str | None = None  # why this engine moves no volumes

    async def before_job(self, ctx: JobContext, kind: StageKind) -> None:
        """Restore the cache volumes this job mounts, if the run has not done so yet."""
        try:
            specs = kind.specs(ctx)
        except Exception:
            return  # the job's own run reports what is wrong with its specs
        await self.restore(specs)

    async def restore(self, specs: Iterable[ContainerSpec]) -> None:
        names = {c.name for spec in specs for c in spec.caches if c.sharing is not Sharing.PRIVATE}
        for name in sorted(names & self._locks.keys()):
            async with self._guards.setdefault(name, anyio.Lock()):
                if name in self.states or self.unsupported is not None:
                    continue
                try:
                    state = await _restore_one(self._store, self._engine, name, self._locks[name], self._emit)
                except NotSupported as exc:
                    self.unsupported = str(exc)
                    log.info("cache volumes: %s", exc)
                    return
                except Exception as exc:  # a cold volume only costs downloads
                    log.warning("cache volume %s: not restored, the job fills it itself: %s", name, exc)
                    state = VolumeState(name, self._locks[name], save=True)
                self.states[name] = state

    async def save(self) -> None:
        """Save the volumes whose exact archive the store lacks (call after a green run)."""
        for state in self.states.values():
            if state.save:
                await _save_one(self._store, self._engine, state, self._emit)


async def open_volume_sync(run: PipelineRun, jobs: Iterable[Job], emit: Emit) -> VolumeSync | None:
    """The run's volume sync, or None when the run has no store."""
    store, engine = run.store, run.engine
    if store is None:
        return None
    locks = await anyio.to_thread.run_sync(volume_locks, run, list(jobs))
    return VolumeSync(store, engine, locks, emit)


async def save_volumes(sync: VolumeSync | None) -> None:
    if sync is not None:
        await sync.save()


async def _restore_one(
    store: Store, engine: Engine, name: str, lock_hash: str, emit: Emit
) -> VolumeState:
    if not await engine.cache_volume_empty(name):
        stored = await anyio.to_thread.run_sync(volume_archive_exists, store, name, lock_hash)
        emit(f"cache volume {name}: present on this engine" + ("" if stored else "; will be saved"))
        return VolumeState(name, lock_hash, save=not stored)
    with tempfile.TemporaryDirectory(prefix="slipway-volume-") as tmp:
        restored = await anyio.to_thread.run_sync(
            lambda: restore_volume_archive(store, name, lock_hash, dest_dir=Path(tmp))
        )
        if restored is None:
            emit(f"cache volume {name}: nothing stored yet; saved after a green run")
            return VolumeState(name, lock_hash, save=True)
        await engine.import_cache_volume(name, restored.tar)
    how = "exact" if restored.exact else "fallback: an older lock file's archive"
    emit(f"cache volume {name}: restored from {restored.key} ({how})")
    return VolumeState(name, lock_hash, save=not restored.exact)


async def _save_one(store: Store, engine: Engine, state: VolumeState, emit: Emit) -> None:
    try:
        if await engine.cache_volume_empty(state.name):
            return  # no job wrote to it: nothing worth a key
        with tempfile.TemporaryDirectory(prefix="slipway-volume-") as tmp:
            tar = Path(tmp) / "volume.tar"
            await engine.export_cache_volume(state.name, tar)
            size = tar.stat().st_size
            saved = await anyio.to_thread.run_sync(
                save_volume_archive, store, state.name, state.lock_hash, tar
            )
        if saved:
            emit(f"cache volume {state.name}: saved to the store ({size / 1024**2:.1f} MiB)")
    except Exception as exc:  # the next runner downloads again; this run is green
        log.warning("cache volume %s: not saved: %s", state.name, exc)
