"""Where an entry's parts live in a backend, and its index, the same in a directory and a bucket::

    entries/<key>/<sha256>.tar.gz   the blob, named by its content
    entries/<key>/index.json        written after the blob; names it and its sha256
    entries/<key>/last-used         touched on every hit (LRU without rewriting the index)
    objects/<name>                  small named objects (durations, release history)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.cache.archive import Packed
from pipeline.cache.backend import Backend, ObjectInfo
from pipeline.cache.store import BLOB_SUFFIX, INDEX_NAME, LAST_USED_NAME

INDEX_FORMAT = 1


def entry_dir(key: str) -> str:
    return f"entries/{key}/"


def blob_name(key: str, sha256: str) -> str:
    return f"{entry_dir(key)}{sha256}{BLOB_SUFFIX}"


def index_bytes(key: str, packed: Packed, meta: dict[str, Any], created: datetime) -> bytes:
    index = {
        "format": INDEX_FORMAT,
        "key": key,
        "sha256": packed.sha256,
        "size": packed.size,
        "names": list(packed.names),
        "created": created.isoformat(),
        "meta": meta,
    }
    return json.dumps(index, sort_keys=True, indent=1).encode()


def parse_index(raw: bytes, key: str) -> dict[str, Any]:
    """The index of ``key``; raises ValueError if it is not a valid one."""
    index = json.loads(raw)
    if (
        not isinstance(index, dict)
        or index.get("format") != INDEX_FORMAT
        or index.get("key") != key
        or not isinstance(index.get("sha256"), str)
        or len(index["sha256"]) != 64
        or not isinstance(index.get("size"), int)
        or not isinstance(index.get("names"), list)
        or not isinstance(index.get("meta"), dict)
    ):
        raise ValueError("index is not a Slipway cache index for this key")
    datetime.fromisoformat(index["created"])
    return index


@dataclass(slots=True)
class EntryDir:
    """What a listing found in one entry directory."""

    index: ObjectInfo | None = None
    last_used: ObjectInfo | None = None
    others: list[ObjectInfo] = field(default_factory=list)  # blobs and temp files


def scan(backend: Backend, prefix: str) -> dict[str, EntryDir]:
    """Every entry directory whose key starts with ``prefix``, by key."""
    dirs: dict[str, EntryDir] = {}
    for obj in backend.list("entries/" + prefix):
        rest = obj.name.removeprefix("entries/")
        if "/" not in rest:
            continue
        key, leaf = rest.rsplit("/", 1)
        d = dirs.setdefault(key, EntryDir())
        if leaf == INDEX_NAME:
            d.index = obj
        elif leaf == LAST_USED_NAME:
            d.last_used = obj
        else:
            d.others.append(obj)
    return dirs
