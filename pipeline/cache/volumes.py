"""Cache volumes (pip, uv, poetry, npm) saved to and restored from a store, for runners
that start empty every time.

Keys are ``volumes/<volume>/<lock hash>``. Restore tries the exact key, then the
newest archive of the same volume (GitHub's ``restore-keys``): a cache from before a
lock-file change still saves most downloads. Like ``actions/cache``, an archive is
immutable: once a key exists it is not saved again. How a tar gets out of a Docker
volume or a Dagger cache is the engines' business; here it is a tar file on disk.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pipeline.cache.store import EntryInfo, Store, check_key, log

VOLUME_PREFIX = "volumes/"
ARCHIVE_NAME = "volume.tar"
MAX_ARCHIVE_BYTES = 4 * 1024**3  # one volume's tar; above this the transfer costs more than it saves
VOLUMES_BUDGET_BYTES = 10 * 1024**3  # all volume archives together
KEEP_PER_VOLUME = 3
# Fallback candidates tried after the exact key, newest first (one may be corrupt).
_FALLBACK_TRIES = 3


def volume_key(volume: str, lock_hash: str) -> str:
    return check_key(f"{VOLUME_PREFIX}{volume}/{lock_hash}")


@dataclass(frozen=True, slots=True)
class RestoredVolume:
    """A restored archive: ``exact`` is False when it came from the fallback."""

    tar: Path
    key: str
    exact: bool


def volume_archive_exists(store: Store, volume: str, lock_hash: str) -> bool:
    """True if the exact archive is stored, so an engine can skip exporting the volume."""
    return store.stat(volume_key(volume, lock_hash)) is not None


def save_volume_archive(
    store: Store,
    volume: str,
    lock_hash: str,
    tar_path: Path,
    *,
    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
    keep_per_volume: int | None = KEEP_PER_VOLUME,
    budget_bytes: int | None = VOLUMES_BUDGET_BYTES,
) -> bool:
    """Store ``tar_path`` as the volume's archive for ``lock_hash``, then prune old ones.

    Returns True if the store holds the archive afterwards (saved now or before).
    """
    key = volume_key(volume, lock_hash)
    try:
        size = tar_path.stat().st_size
    except OSError as exc:
        log.warning("cache volume %s: cannot read %s, not saving it: %s", volume, tar_path, exc)
        return False
    if size > max_archive_bytes:
        log.warning(
            "cache volume %s is %d MiB, over the %d MiB limit: not saving it",
            volume,
            size // 1024**2,
            max_archive_bytes // 1024**2,
        )
        return False
    if store.stat(key) is not None:
        return True
    meta = {"kind": "volume", "volume": volume, "lock_hash": lock_hash, "tar_bytes": size}
    if not store.put(key, {ARCHIVE_NAME: tar_path}, meta):
        return False
    prune_volume_archives(store, volume=volume, keep_per_volume=keep_per_volume, max_bytes=budget_bytes)
    return True


def restore_volume_archive(
    store: Store, volume: str, lock_hash: str, *, dest_dir: Path | None = None
) -> RestoredVolume | None:
    """The volume's archive for ``lock_hash``, else its newest one, unpacked as a tar file
    under ``dest_dir`` (a new temp dir by default; the caller owns it), or None."""
    exact = volume_key(volume, lock_hash)
    candidates = [exact]
    entry = store.get(exact)
    if entry is None:
        others = [i for i in store.list(f"{VOLUME_PREFIX}{volume}/") if i.key != exact]
        others.sort(key=lambda i: i.created, reverse=True)
        candidates = [i.key for i in others[:_FALLBACK_TRIES]]
    for key in candidates:
        found = entry if key == exact else store.get(key)
        if found is None:
            continue
        dest = dest_dir or Path(tempfile.mkdtemp(prefix="slipway-volume-"))
        files = found.extract(dest)
        if files is not None and ARCHIVE_NAME in files:
            if key != exact:
                log.info("cache volume %s: no archive for this lock file, restored %s", volume, key)
            return RestoredVolume(tar=files[ARCHIVE_NAME], key=key, exact=key == exact)
    return None


def prune_volume_archives(
    store: Store,
    *,
    volume: str | None = None,
    keep_per_volume: int | None = KEEP_PER_VOLUME,
    max_bytes: int | None = VOLUMES_BUDGET_BYTES,
    older_than: timedelta | None = None,
) -> list[EntryInfo]:
    """Keep each volume's ``keep_per_volume`` most recently used archives, then drop the
    least recently used until all volume archives fit in ``max_bytes``."""
    prefix = f"{VOLUME_PREFIX}{volume}/" if volume else VOLUME_PREFIX
    removed: list[EntryInfo] = []
    if keep_per_volume is not None:
        by_volume: dict[str, list[EntryInfo]] = defaultdict(list)
        for info in store.list(prefix):
            by_volume[info.key.split("/")[1]].append(info)
        for infos in by_volume.values():
            infos.sort(key=lambda i: i.last_used, reverse=True)
            for stale in infos[keep_per_volume:]:
                if store.delete(stale.key):
                    removed.append(stale)
    if max_bytes is not None or older_than is not None:
        # The byte budget covers every volume, even when one volume was just saved.
        removed += store.prune(older_than=older_than, max_bytes=max_bytes, prefix=VOLUME_PREFIX)
    return removed
