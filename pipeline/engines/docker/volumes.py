"""Cache volumes as named Docker volumes, with Dagger's three sharing modes.

shared: ``slipway-cache-<name>``, mounted by every job at once.
locked: the same volume, one writer at a time across processes on this host,
        held with a host file lock for the whole job.
private: a fresh volume for this job, labelled with the run so it is removed.
Shared and locked volumes carry no run label: ``gc`` must never take them.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from pipeline.model.spec import CacheMount, Sharing

LABEL_CACHE = "dev.slipway.cache"
CACHE_PREFIX = "slipway-cache-"
LOCK_POLL_S = 0.2


def slug(text: str) -> str:
    """A Docker object name (and DNS label) made from free text."""
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-.").lower() or "x"


def volume_name(mount: CacheMount, run_id: str, job_slug: str) -> str:
    if mount.sharing is Sharing.PRIVATE:
        return f"{CACHE_PREFIX}{slug(mount.name)}-{slug(run_id)}-{job_slug}"
    return f"{CACHE_PREFIX}{slug(mount.name)}"


def lock_dir() -> Path:
    path = Path(os.environ.get("SLIPWAY_LOCK_DIR", Path(tempfile.gettempdir()) / "slipway-locks"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@asynccontextmanager
async def host_lock(volume: str) -> AsyncIterator[None]:
    """Hold an exclusive lock named after ``volume`` for the duration of the block.

    flock locks belong to an open file, so two jobs of the same process exclude
    each other too. Polling (not a blocking flock in a thread) keeps the wait
    cancellable by ^C.
    """
    fd = os.open(lock_dir() / f"{volume}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await anyio.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
