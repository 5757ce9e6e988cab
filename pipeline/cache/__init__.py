"""Caches that outlive the runner: keys and stores only.

Job-result entries, cache volume archives and durable JSON, in a local directory
and optionally an S3-compatible bucket. A job's key is ``job_key``; a hit is
restored with ``Store.get(key).extract(dir)``, a success is saved with
``Store.put`` (the run's job cache, ``pipeline.run.jobcache``, does both). Every
store is best-effort: it logs and returns None/False, it never raises into a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.cache.durable import durations_name, load_json, releases_name, save_json
from pipeline.cache.entries import EntryStore
from pipeline.cache.keys import (
    SecretInKeyError,
    canonical_json,
    files_digest,
    input_files,
    job_key,
    spec_fingerprint,
)
from pipeline.cache.local import LocalStore, default_cache_dir
from pipeline.cache.store import Entry, EntryInfo, InvalidKey, Store
from pipeline.cache.tiered import TieredStore, open_store, parse_s3_url
from pipeline.cache.volumes import (
    RestoredVolume,
    prune_volume_archives,
    restore_volume_archive,
    save_volume_archive,
    volume_archive_exists,
    volume_key,
)

if TYPE_CHECKING:
    from pipeline.cache.s3 import S3Store


def __getattr__(name: str) -> object:
    # boto3 takes seconds to import on a busy runner; only a run that uses S3 pays.
    if name == "S3Store":
        from pipeline.cache.s3 import S3Store  # noqa: PLC0415  boto3 is slow to import

        return S3Store
    raise AttributeError(f"module 'pipeline.cache' has no attribute {name!r}")


__all__ = [
    "Entry",
    "EntryInfo",
    "EntryStore",
    "InvalidKey",
    "LocalStore",
    "RestoredVolume",
    "S3Store",
    "SecretInKeyError",
    "Store",
    "TieredStore",
    "canonical_json",
    "default_cache_dir",
    "durations_name",
    "files_digest",
    "input_files",
    "job_key",
    "load_json",
    "open_store",
    "parse_s3_url",
    "prune_volume_archives",
    "releases_name",
    "restore_volume_archive",
    "save_json",
    "save_volume_archive",
    "spec_fingerprint",
    "volume_archive_exists",
    "volume_key",
]
