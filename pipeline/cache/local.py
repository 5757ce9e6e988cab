"""The local store: a directory, by default in the user's cache dir.

Every write goes to a uniquely named temp file in the target's own directory and is
renamed into place with ``os.replace``, which is atomic on one filesystem: readers
and concurrent writers (threads, processes, runners sharing a disk) never see a
half-written file.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs

from pipeline.cache.backend import ObjectInfo
from pipeline.cache.entries import EntryStore

ENV_CACHE_DIR = "SLIPWAY_CACHE_DIR"
_TMP_PREFIX = ".tmp-"


def default_cache_dir() -> Path:
    """``$SLIPWAY_CACHE_DIR``, else the platform's user cache dir (``~/.cache/slipway``)."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir("slipway"))


class DirectoryBackend:
    """Objects as files under ``root``; raises OSError, which the store reports."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def description(self) -> str:
        return f"local {self.root}"

    @property
    def scratch(self) -> Path:
        # Inside root so a packed blob moves into place by rename, not by copy.
        return self.root / "tmp"

    def _path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def _tempfile(self, target: Path) -> tuple[int, str]:
        for attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
            except FileNotFoundError:
                # A concurrent delete removed the (empty) directory between the two calls.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def write(self, name: str, data: bytes) -> None:
        target = self._path(name)
        fd, tmp = self._tempfile(target)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def fetch(self, name: str) -> Path | None:
        path = self._path(name)
        return path if path.is_file() else None

    def store(self, name: str, src: Path) -> None:
        target = self._path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, target)

    def touch(self, name: str) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        # Walk only below the deepest directory the prefix names.
        base = self.root / prefix.rpartition("/")[0]
        found: list[ObjectInfo] = []
        for dirpath, _dirs, files in os.walk(base):
            for file in files:
                path = Path(dirpath, file)
                name = path.relative_to(self.root).as_posix()
                if not name.startswith(prefix):
                    continue
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue  # deleted while we walked
                found.append(ObjectInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        return found

    def delete(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only succeeds once the entry's directory is empty

    def clean_scratch(self, older_than: timedelta) -> None:
        cutoff = time.time() - older_than.total_seconds()
        if not self.scratch.is_dir():
            return
        for path in self.scratch.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass


class LocalStore(EntryStore):
    """Entries and named objects in a local directory (default: the user cache dir)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_cache_dir()
        super().__init__(DirectoryBackend(self.root))

    @property
    def local_dir(self) -> Path | None:
        return self.root
