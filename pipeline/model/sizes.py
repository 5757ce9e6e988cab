"""Sizes as people write them (``256m``, ``1g``, ``500MiB``) and as they are shown.

Units are powers of 1024, as Docker's ``--memory`` reads them: ``k``, ``m``, ``g``,
``t``, each optionally followed by ``b`` or ``ib``; a bare number is bytes.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

# Docker refuses a memory limit under 6 MiB; a runc container cannot start in less.
MIN_MEMORY_BYTES = 6 * 1024**2
# Past this the number is a typo, not a machine (and past int64 the daemon refuses it).
MAX_MEMORY_BYTES = 1024**5


def size_bytes(text: str) -> int | None:
    """``500M`` -> bytes; None when ``text`` is not a size."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_problem(text: str) -> str | None:
    """Why ``text`` is not a memory limit a container can run with, or None if it is."""
    size = size_bytes(text)
    if size is None:
        return "not a size: write a number and a unit, e.g. 256m, 1g or 1.5g"
    if size < MIN_MEMORY_BYTES:
        return "below the 6m a container needs to start"
    if size > MAX_MEMORY_BYTES:
        return "more than any machine has (at most 1024t)"
    return None


def format_size(size: int) -> str:
    """``268435456`` -> ``256 MiB``; one decimal only where it is needed."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B":
                return f"{value:.0f} {unit}"
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
