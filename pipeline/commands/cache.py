"""``python -m pipeline cache ls`` and ``cache prune``: what they do, then the commands.

Durations and sizes are parsed here so every command reads them the same way:
``7d``, ``12h``, ``30m``, ``45s``, ``2w`` or combined (``1d12h``); ``500M``, ``2G``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cache.store import EntryInfo, Store
from pipeline.commands.options import ConfigOpt, optional_config, out, say
from pipeline.model.errors import UsageError
from pipeline.run.stores import admin_store

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


# -- the commands ---------------------------------------------------------------------

app = typer.Typer(help="The job-result and cache-volume store (local, and S3 when configured).")


def _store(config: Path) -> Store:
    store = admin_store(optional_config(config))
    say(f"cache: {store.description}")
    return store


@app.command("ls")
def cache_ls(
    config: ConfigOpt = Path("pipeline.yaml"),
    prefix: Annotated[
        str, typer.Option("--prefix", help="Only keys starting with this (jobs/, volumes/).")
    ] = "",
) -> None:
    """List the stored entries, most recently used first."""
    rows = ls(_store(config), prefix)
    for row in rows:
        out.print(
            f"{row.key:<50} {format_size(row.size):>10}  used {row.last_used:%Y-%m-%d %H:%M}  "
            f"{row.where:<8} {row.job}",
            markup=False,
        )
    out.print(f"{len(rows)} entries, {format_size(sum(r.size for r in rows))}", markup=False)


@app.command("prune")
def cache_prune(
    config: ConfigOpt = Path("pipeline.yaml"),
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Remove entries unused for this long (7d, 12h).")
    ] = None,
    max_size: Annotated[
        str | None, typer.Option("--max-size", help="Then drop least recently used ones down to this (5G).")
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this.")] = "",
) -> None:
    """Remove old entries (by last use), then the least recently used beyond a size."""
    removed = prune(_store(config), older_than=older_than, max_size=max_size, prefix=prefix)
    for row in removed:
        out.print(f"removed {row.key} ({format_size(row.size)}) {row.job}", markup=False)
    out.print(f"removed {len(removed)} entries, {format_size(sum(r.size for r in removed))}", markup=False)
