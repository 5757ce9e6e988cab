"""What every cache store offers, and the entries it holds.

An entry is one immutable blob (a tar.gz of a job's artifacts, or of a cache
volume) plus a small index that vouches for it with a sha256. Stores are
best-effort: a store that cannot be reached returns ``None`` / ``False`` and logs
one warning; it never raises into a run.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pipeline.cache.archive import ArchiveError, unpack

log = logging.getLogger("pipeline.cache")

# Leaf names an entry's directory uses; a key segment may not look like one,
# or a key and its parent could not be told apart.
INDEX_NAME = "index.json"
LAST_USED_NAME = "last-used"
BLOB_SUFFIX = ".tar.gz"

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_KEY_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


class InvalidKey(ValueError):
    """A key or object name a store cannot hold (a bug in the caller, not an outage)."""


def check_key(key: str) -> str:
    """Keys and object names are ``/``-separated segments of ``[A-Za-z0-9._-]``."""
    if len(key) > 512 or not _KEY_RE.fullmatch(key):
        raise InvalidKey(f"cache key {key!r} must be '/'-separated [A-Za-z0-9._-] segments")
    for segment in key.split("/"):
        if segment in (INDEX_NAME, LAST_USED_NAME) or segment.endswith(BLOB_SUFFIX):
            raise InvalidKey(f"cache key {key!r}: segment {segment!r} is reserved")
    return key


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryInfo:
    """One row of a store's listing: what ``cache ls`` prints and ``prune`` weighs."""

    key: str
    sha256: str
    size: int
    created: datetime
    last_used: datetime
    meta: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""  # which store holds it ("local", "s3", "local+s3")

    @property
    def job(self) -> str:
        value = self.meta.get("job", "")
        return value if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """A verified entry: ``blob`` is a local tar.gz whose sha256 matched its index."""

    key: str
    blob: Path
    sha256: str
    size: int
    created: datetime
    names: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def extract(self, dest: Path) -> dict[str, Path] | None:
        """Unpack into ``dest``: ``{artifact name: path}``, or None (logged) if that fails.

        The blob was verified by ``get``; it can still vanish before this (a concurrent
        prune), which is a cache miss, not an error of the run.
        """
        try:
            return unpack(self.blob, dest, self.names)
        except ArchiveError as exc:
            log.warning("cache entry %s could not be restored, ignoring it: %s", self.key, exc)
            return None


@runtime_checkable
class Store(Protocol):
    """A place that keeps cache entries and small named objects."""

    @property
    def description(self) -> str:
        """Where the store is, for messages (``local /path``, ``s3://bucket/prefix``)."""
        ...

    @property
    def local_dir(self) -> Path | None:
        """The local directory the store writes to, if any (a run must not hash it)."""
        ...

    def get(self, key: str) -> Entry | None:
        """The verified entry, or None when missing, corrupt (logged) or unreachable."""
        ...

    def stat(self, key: str) -> EntryInfo | None:
        """The entry's index only (no blob transfer), or None."""
        ...

    def put(self, key: str, files: Mapping[str, Path], meta: Mapping[str, Any]) -> bool:
        """Pack ``files`` (``{name in archive: path}``) and store them under ``key``."""
        ...

    def put_entry(self, entry: Entry) -> bool:
        """Copy a verified entry from another store, keeping its blob and meta."""
        ...

    def list(self, prefix: str = "") -> builtins.list[EntryInfo]:
        """Every entry whose key starts with ``prefix``."""
        ...

    def delete(self, key: str) -> bool:
        """Remove an entry; True if the store no longer holds it."""
        ...

    def prune(
        self,
        *,
        older_than: timedelta | None = None,
        max_bytes: int | None = None,
        prefix: str = "",
    ) -> builtins.list[EntryInfo]:
        """Remove entries unused for ``older_than``, then least recently used ones until
        the total size is at most ``max_bytes``; returns what was removed."""
        ...

    def get_object(self, name: str) -> bytes | None:
        """A small named object (test durations, release history), or None."""
        ...

    def put_object(self, name: str, data: bytes) -> bool:
        """Replace a small named object atomically."""
        ...
