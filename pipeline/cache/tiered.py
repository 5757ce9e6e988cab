"""A local store in front of a remote one, and the choice of stores for a run.

Entries are immutable per key, so the local copy is read first and a remote hit
fills it. Named objects (durations, release history) change between runs and are
shared by runners, so the remote copy wins when it can be reached. Writes go to the
local store first: a remote that is down never loses a result.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipeline.cache.entries import EntryStore
from pipeline.cache.local import LocalStore
from pipeline.cache.store import Entry, EntryInfo, Store
from pipeline.model.errors import UsageError


class TieredStore:
    """Reads local then remote (filling local), writes both."""

    def __init__(self, local: EntryStore, remote: EntryStore) -> None:
        self.local = local
        self.remote = remote

    @property
    def description(self) -> str:
        return f"{self.local.description} + {self.remote.description}"

    @property
    def local_dir(self) -> Path | None:
        return self.local.local_dir

    def __repr__(self) -> str:
        return f"TieredStore({self.description})"

    def get(self, key: str) -> Entry | None:
        entry = self.local.get(key)
        if entry is not None:
            return entry
        remote_entry = self.remote.get(key)
        if remote_entry is None:
            return None
        if self.local.put_entry(remote_entry):
            filled = self.local.get(key)
            if filled is not None:
                self.remote.discard(remote_entry)  # the remote copy was a temp file
                return filled
        return remote_entry

    def stat(self, key: str) -> EntryInfo | None:
        return self.local.stat(key) or self.remote.stat(key)

    def put(self, key: str, files: Mapping[str, Path], meta: Mapping[str, Any]) -> bool:
        if not self.local.put(key, files, meta):
            return self.remote.put(key, files, meta)
        entry = self.local.get(key)
        if entry is not None:
            self.remote.put_entry(entry)  # best-effort: a failure was logged by remote
        return True

    def put_entry(self, entry: Entry) -> bool:
        local_ok = self.local.put_entry(entry)
        remote_ok = self.remote.put_entry(entry)
        return local_ok or remote_ok

    def list(self, prefix: str = "") -> builtins.list[EntryInfo]:
        merged: dict[str, EntryInfo] = {i.key: i for i in self.remote.list(prefix)}
        for info in self.local.list(prefix):
            other = merged.get(info.key)
            if other is None:
                merged[info.key] = info
            else:
                last_used = max(info.last_used, other.last_used)
                merged[info.key] = EntryInfo(
                    key=info.key,
                    sha256=info.sha256,
                    size=info.size,
                    created=min(info.created, other.created),
                    last_used=last_used,
                    meta=info.meta,
                    where=f"{info.where}+{other.where}",
                )
        return sorted(merged.values(), key=lambda i: i.key)

    def delete(self, key: str) -> bool:
        local_ok = self.local.delete(key)
        remote_ok = self.remote.delete(key)
        return local_ok and remote_ok

    def prune(
        self,
        *,
        older_than: timedelta | None = None,
        max_bytes: int | None = None,
        prefix: str = "",
    ) -> builtins.list[EntryInfo]:
        # Each tier applies the limits to itself: a small laptop disk and a large
        # bucket do not need the same entries.
        return self.local.prune(
            older_than=older_than, max_bytes=max_bytes, prefix=prefix
        ) + self.remote.prune(older_than=older_than, max_bytes=max_bytes, prefix=prefix)

    def get_object(self, name: str) -> bytes | None:
        data = self.remote.get_object(name)
        if data is not None:
            self.local.put_object(name, data)  # for the next run that cannot reach S3
            return data
        return self.local.get_object(name)

    def put_object(self, name: str, data: bytes) -> bool:
        local_ok = self.local.put_object(name, data)
        remote_ok = self.remote.put_object(name, data)
        return local_ok or remote_ok


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UsageError(f"S3 cache URL {url!r} must look like s3://bucket/prefix")
    return parsed.netloc, parsed.path.strip("/")


def open_store(
    *,
    local_dir: Path | None = None,
    s3_url: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Store:
    """The store for a run: local only, or local in front of S3 when a URL is given."""
    local = LocalStore(local_dir)
    if not s3_url:
        return local
    bucket, prefix = parse_s3_url(s3_url)
    # boto3 is slow to import; only a run that uses S3 pays for it.
    from pipeline.cache.s3 import S3Store  # noqa: PLC0415  boto3 is slow to import

    remote = S3Store(bucket, prefix=prefix, endpoint_url=endpoint_url, region=region)
    return TieredStore(local, remote)
