"""What ``python -m pipeline cache ls`` and ``cache prune`` do; the CLI only prints.

Durations and sizes are parsed here so every command reads them the same way:
``7d``, ``12h``, ``30m``, ``45s``, ``2w`` or combined (``1d12h``); ``500M``, ``2G``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.cache.store import EntryInfo, Store
from pipeline.model.errors import UsageError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_duration(text: str) -> timedelta:
    """``7d`` -> 7 days; units w, d, h, m, s, combinable (``1d12h``)."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise UsageError(
            f"duration {text!r} is not understood: use a number and a unit, "
            "e.g. 7d, 12h, 30m, 45s, 2w or 1d12h"
        )
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def parse_size(text: str) -> int:
    """``500M`` -> bytes; units K, M, G, T (powers of 1024), optional ``B``/``iB``."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"size {text!r} is not understood: use e.g. 500M, 2G or 1048576")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class CacheRow:
    """One line of ``cache ls``."""

    key: str
    size: int
    created: datetime
    last_used: datetime
    job: str
    where: str

    @classmethod
    def of(cls, info: EntryInfo) -> CacheRow:
        job = info.job or (f"volume {info.meta.get('volume')}" if info.meta.get("kind") == "volume" else "")
        return cls(info.key, info.size, info.created, info.last_used, job, info.where)


def ls(store: Store, prefix: str = "") -> list[CacheRow]:
    """Every entry, most recently used first."""
    rows = [CacheRow.of(i) for i in store.list(prefix)]
    return sorted(rows, key=lambda r: r.last_used, reverse=True)


def prune(
    store: Store,
    *,
    older_than: timedelta | str | None = None,
    max_size: int | str | None = None,
    prefix: str = "",
) -> list[CacheRow]:
    """Remove entries unused for ``older_than``, then the least recently used beyond
    ``max_size``; returns the removed rows. Strings are parsed (``7d``, ``2G``)."""
    if older_than is None and max_size is None:
        raise UsageError("cache prune needs --older-than (e.g. 7d) or --max-size (e.g. 2G)")
    age = parse_duration(older_than) if isinstance(older_than, str) else older_than
    size = parse_size(max_size) if isinstance(max_size, str) else max_size
    removed = store.prune(older_than=age, max_bytes=size, prefix=prefix)
    return [CacheRow.of(i) for i in removed]
