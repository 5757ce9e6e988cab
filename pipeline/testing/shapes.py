"""Which per-worker database shape a project has, read at run time inside the container.

Three shapes, as conftests have them:

``shared``
    One database for the whole run (``DATABASE_URL`` as is). Slipway gives each
    xdist worker its own, and points the variables at it.
``conftest_suffix``
    A conftest derives each worker's database name from the worker id (the common
    recipe: ``f"{name}_{worker_id}"``). Slipway points the variables at the base name
    and creates exactly the names the project will ask for: ``<base>`` for the main
    process, ``<base>_gw<N>`` for each worker.
``django``
    pytest-django creates ``test_<NAME>`` (``test_<NAME>_gw<N>`` per worker) and
    migrates it. Slipway points the settings at ``<base>`` and lets Django do the rest.

Copied into the test container beside the plugin (as ``slipway_pytest_shapes``):
standard library only, and ``pipeline.conftestscan`` (copied beside it as
``slipway_pytest_conftestscan``). ``pipeline.detect`` reads the same shapes for
``init`` from a checkout, with the same line helpers; this is the plugin's own,
smaller reading, for a pipeline.yaml that does not say (``database.per_worker: auto``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

try:
    from ..conftestscan import DB_TERMS, code_lines, enclosing_def, mentions, worker_names
except ImportError:  # copied into the test container as top-level modules, beside this file
    from slipway_pytest_conftestscan import (  # type: ignore[import-not-found,no-redef]
        DB_TERMS,
        code_lines,
        enclosing_def,
        mentions,
        worker_names,
    )

SHAPES = ("shared", "conftest_suffix", "django")
AUTO = "auto"

_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", "site-packages"}
)
_MAX_DEPTH = 6
# A line that builds a string (f-string, +, format, %, join, a URL's .set(database=...)).
_BUILDS = re.compile(r"\bf[\"']|\+|\.format\(|%\s*\(|\.join\(|\.set\(")


@dataclass(frozen=True, slots=True)
class Shape:
    name: str  # shared | conftest_suffix | django
    why: str  # said in the job's log


def conftests(root: Path) -> list[Path]:
    """conftest.py files under ``root``, nearest first, tool folders left out."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and depth < _MAX_DEPTH)
        if "conftest.py" in filenames:
            found.append(Path(dirpath) / "conftest.py")
    return found


def suffix_line(text: str) -> int | None:
    """The 1-based line where ``text`` (a conftest) builds a database name from the worker id.

    The worker id is followed through assignments (``worker = os.environ[...]``); a
    line counts when it builds a string from it and names a database, itself or in the
    function it is in. A worker id used for a log label or an application name does not.
    """
    lines = code_lines(text)
    tracked = worker_names(lines)
    for number, line in enumerate(lines, 1):
        if not mentions(line, tracked) or not _BUILDS.search(line):
            continue
        if DB_TERMS.search(line) or DB_TERMS.search(enclosing_def(lines, number - 1)):
            return number
    return None


def detect(root: Path, *, django: bool) -> Shape:
    """The shape of the project under ``root`` (pytest's rootdir)."""
    if django:
        return Shape("django", "pytest-django creates test_<name> and test_<name>_gw<N> itself")
    for path in conftests(root):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        line = suffix_line(text)
        if line is not None:
            rel = path.relative_to(root).as_posix()
            return Shape("conftest_suffix", f"{rel}:{line} derives the database name from the worker id")
    return Shape("shared", "no conftest derives a database name from the worker id")
