"""One implementation of ``Store`` over any ``Backend``: atomicity, verification, pruning.

The layout of entries is ``layout``'s. Two writers of one key each write their own
blob name (same content, same name) and then replace the index, so a reader sees
one complete entry or the other.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.cache.archive import ArchiveError, Packed, pack, sha256_file
from pipeline.cache.backend import Backend, BackendError
from pipeline.cache.layout import EntryDir, blob_name, entry_dir, index_bytes, parse_index, scan
from pipeline.cache.store import (
    INDEX_NAME,
    LAST_USED_NAME,
    Entry,
    EntryInfo,
    check_key,
    log,
)

# A blob or temp file without an index may belong to a writer that is still working;
# only prune it once no sane write could still be in flight.
ORPHAN_GRACE = timedelta(hours=1)
_TMP_PREFIX = ".tmp-"


def _now() -> datetime:
    return datetime.now(UTC)


class EntryStore:
    """A best-effort ``Store`` over a ``Backend``: failures are logged once, never raised."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._disabled = False
        self._warned: set[str] = set()

    @property
    def description(self) -> str:
        return self._backend.description

    @property
    def kind(self) -> str:
        return self._backend.kind

    @property
    def local_dir(self) -> Path | None:
        return None

    @property
    def available(self) -> bool:
        """False once the backend proved unreachable; later calls return at once."""
        return not self._disabled

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"

    # -- failure policy -------------------------------------------------------------

    def _failed(self, op: str, exc: BackendError | OSError | ArchiveError) -> None:
        if isinstance(exc, BackendError) and exc.unreachable:
            # One warning, then the run goes on without this store: retrying a dead
            # endpoint for every job would turn an outage into a slow run.
            if not self._disabled:
                self._disabled = True
                log.warning(
                    "cache %s is unreachable or unusable (%s); going on without it for this "
                    "run: check its endpoint, bucket and credentials",
                    self.description,
                    exc,
                )
            return
        if op not in self._warned:
            self._warned.add(op)
            log.warning("cache %s: %s failed, going on without it: %s", self.description, op, exc)

    # -- entries --------------------------------------------------------------------

    def _read_index(self, key: str) -> dict[str, Any] | None:
        """The parsed index, None if missing; raises ValueError if it is not a valid one."""
        raw = self._backend.read(entry_dir(key) + INDEX_NAME)
        return None if raw is None else parse_index(raw, key)

    def _corrupt(self, key: str, why: str) -> None:
        # Every corrupt entry is reported (not once per store): each one is a finding.
        log.warning("cache %s: entry %s is corrupt (%s); ignoring it", self.description, key, why)

    def get(self, key: str) -> Entry | None:  # noqa: PLR0911  each way to miss returns None
        check_key(key)
        if self._disabled:
            return None
        try:
            try:
                index = self._read_index(key)
            except (ValueError, KeyError, TypeError) as exc:
                self._corrupt(key, f"bad index: {exc}")
                return None
            if index is None:
                return None
            sha, size = index["sha256"], index["size"]
            blob = self._backend.fetch(blob_name(key, sha))
            if blob is None:
                self._corrupt(key, "its index names a blob that is not there")
                return None
            actual_sha, actual_size = sha256_file(blob)
            if (actual_sha, actual_size) != (sha, size):
                self._discard(blob)
                self._corrupt(key, f"blob sha256 {actual_sha[:12]}... != index {sha[:12]}...")
                return None
            self._touch(key)
        except (BackendError, OSError) as exc:
            self._failed("get", exc)
            return None
        return Entry(
            key=key,
            blob=blob,
            sha256=sha,
            size=size,
            created=datetime.fromisoformat(index["created"]),
            names=tuple(index["names"]),
            meta=index["meta"],
        )

    def _touch(self, key: str) -> None:
        try:
            self._backend.touch(entry_dir(key) + LAST_USED_NAME)
        except (BackendError, OSError) as exc:
            # A hit whose LRU mark failed is still a good hit (e.g. read-only credentials).
            self._failed("mark last use", exc)

    def discard(self, entry: Entry) -> None:
        """Free the temp copy of ``entry``'s blob that ``get`` made (no-op for in-place)."""
        self._discard(entry.blob)

    def _discard(self, blob: Path) -> None:
        if blob.is_relative_to(self._backend.scratch):
            blob.unlink(missing_ok=True)

    def stat(self, key: str) -> EntryInfo | None:
        check_key(key)
        if self._disabled:
            return None
        try:
            index = self._read_index(key)
        except (ValueError, KeyError, TypeError):
            return None
        except (BackendError, OSError) as exc:
            self._failed("stat", exc)
            return None
        if index is None:
            return None
        created = datetime.fromisoformat(index["created"])
        return self._info(key, index, created, created)

    def _info(self, key: str, index: Mapping[str, Any], created: datetime, last_used: datetime) -> EntryInfo:
        return EntryInfo(
            key=key,
            sha256=index["sha256"],
            size=index["size"],
            created=created,
            last_used=last_used,
            meta=index["meta"],
            where=self.kind,
        )

    def put(self, key: str, files: Mapping[str, Path], meta: Mapping[str, Any]) -> bool:
        check_key(key)
        # Meta that is not JSON is the caller's bug: say so before any work is done.
        json.dumps(meta)
        if self._disabled:
            return False
        try:
            packed = pack(files, self._backend.scratch)
        except (ArchiveError, OSError) as exc:
            self._failed("pack", exc)
            return False
        return self._put_packed(key, packed, dict(meta), _now(), consume=True)

    def put_entry(self, entry: Entry) -> bool:
        check_key(entry.key)
        if self._disabled:
            return False
        packed = Packed(path=entry.blob, sha256=entry.sha256, size=entry.size, names=entry.names)
        return self._put_packed(entry.key, packed, dict(entry.meta), entry.created, consume=False)

    def _put_packed(
        self, key: str, packed: Packed, meta: dict[str, Any], created: datetime, *, consume: bool
    ) -> bool:
        index = index_bytes(key, packed, meta, created)
        src = packed.path
        try:
            if not consume:
                src = self._copy_to_scratch(packed.path)
            # Blob first, index last: an index is only ever visible with its blob.
            self._backend.store(blob_name(key, packed.sha256), src)
            self._backend.write(entry_dir(key) + INDEX_NAME, index)
            self._backend.touch(entry_dir(key) + LAST_USED_NAME)
        except (BackendError, OSError) as exc:
            self._failed("put", exc)
            return False
        finally:
            if src != packed.path or consume:
                src.unlink(missing_ok=True)
        return True

    def _copy_to_scratch(self, path: Path) -> Path:
        scratch = self._backend.scratch
        scratch.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX + "copy-", dir=scratch)
        os.close(fd)
        shutil.copyfile(path, tmp)
        return Path(tmp)

    # -- listing and pruning ------------------------------------------------------------

    def _list(self, prefix: str) -> tuple[list[EntryInfo], dict[str, EntryDir]]:
        dirs = scan(self._backend, prefix)
        keyed = [(k, d) for k, d in dirs.items() if d.index is not None]

        def load(item: tuple[str, EntryDir]) -> EntryInfo | None:
            key, d = item
            assert d.index is not None
            try:
                check_key(key)
                index = self._read_index(key)
            except (ValueError, KeyError, TypeError):
                return None  # reported by get; prune treats it as an orphan
            if index is None:
                return None
            created = datetime.fromisoformat(index["created"])
            stamps = [d.index.modified] + ([d.last_used.modified] if d.last_used else [])
            return self._info(key, index, created, max(stamps))

        # Reading each index is a round trip on S3; a few at once keeps `ls` quick.
        with ThreadPoolExecutor(max_workers=8) as pool:
            infos = [i for i in pool.map(load, keyed) if i is not None]
        return sorted(infos, key=lambda i: i.key), dirs

    def list(self, prefix: str = "") -> builtins.list[EntryInfo]:
        if self._disabled:
            return []
        try:
            return self._list(prefix)[0]
        except (BackendError, OSError) as exc:
            self._failed("list", exc)
            return []

    def delete(self, key: str) -> bool:
        check_key(key)
        if self._disabled:
            return False
        try:
            self._delete(key)
        except (BackendError, OSError) as exc:
            self._failed("delete", exc)
            return False
        return True

    def _delete(self, key: str) -> None:
        where = entry_dir(key)
        # Index first: from then on readers miss instead of finding a half entry.
        self._backend.delete(where + INDEX_NAME)
        for obj in self._backend.list(where):
            if "/" not in obj.name.removeprefix(where):  # not a longer key's files
                self._backend.delete(obj.name)

    def prune(
        self,
        *,
        older_than: timedelta | None = None,
        max_bytes: int | None = None,
        prefix: str = "",
    ) -> builtins.list[EntryInfo]:
        if self._disabled:
            return []
        now = _now()
        try:
            infos, dirs = self._list(prefix)
            doomed: list[EntryInfo] = []
            kept = sorted(infos, key=lambda i: i.last_used)  # least recently used first
            if older_than is not None:
                cutoff = now - older_than
                doomed = [i for i in kept if i.last_used < cutoff]
                kept = [i for i in kept if i.last_used >= cutoff]
            if max_bytes is not None:
                total = sum(i.size for i in kept)
                while kept and total > max_bytes:
                    oldest = kept.pop(0)
                    total -= oldest.size
                    doomed.append(oldest)
            for info in doomed:
                self._delete(info.key)
            self._sweep(dirs, {i.key: i for i in kept}, {i.key for i in doomed}, now)
            self._backend.clean_scratch(ORPHAN_GRACE)
        except (BackendError, OSError) as exc:
            self._failed("prune", exc)
            return []
        return doomed

    def _sweep(
        self,
        dirs: Mapping[str, EntryDir],
        kept: Mapping[str, EntryInfo],
        deleted: set[str],
        now: datetime,
    ) -> None:
        """Remove blobs no index names (lost races, corrupt entries) and stale temp files."""
        for key, d in dirs.items():
            if key in deleted:
                continue
            info = kept.get(key)
            current = blob_name(key, info.sha256) if info else None
            for obj in d.others:
                if obj.name != current and now - obj.modified > ORPHAN_GRACE:
                    self._backend.delete(obj.name)
            if info is None and d.index is not None and now - d.index.modified > ORPHAN_GRACE:
                try:
                    if self._read_index(key) is not None:
                        continue  # a valid entry written since the listing
                except (ValueError, KeyError, TypeError):
                    pass
                self._delete(key)

    # -- named objects ----------------------------------------------------------------

    def get_object(self, name: str) -> bytes | None:
        check_key(name)
        if self._disabled:
            return None
        try:
            return self._backend.read("objects/" + name)
        except (BackendError, OSError) as exc:
            self._failed("read object", exc)
            return None

    def put_object(self, name: str, data: bytes) -> bool:
        check_key(name)
        if self._disabled:
            return False
        try:
            self._backend.write("objects/" + name, data)
        except (BackendError, OSError) as exc:
            self._failed("write object", exc)
            return False
        return True
