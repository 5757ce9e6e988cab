"""A full disk, said plainly: which path, and how much is free there.

A run writes to disks it does not own (the report directory, the job outputs under
it): one that fills is the machine's problem, not a bug in Slipway, and is said in
one line that names the path and "no space left on device".
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from pipeline.model.sizes import format_size

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_no_space(exc: BaseException) -> bool:
    """An OSError that says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def reason(exc: OSError, path: Path) -> str:
    """``no space left on device (0 B free there)``, or the error's own words."""
    if is_no_space(exc):
        free = free_bytes(path)
        there = f" ({format_size(free)} free there)" if free is not None else ""
        return f"no space left on device{there}"
    words = exc.strerror or str(exc)
    return words[:1].lower() + words[1:]
