"""What of the checkout a test container gets: the project root, less what the project's
``.dockerignore`` leaves out of a build of it, what the stage excludes (or all but what
it includes), the run's own report directory and Slipway's state, and the directories
never copied anywhere (``model/paths``).

``.dockerignore`` patterns are anchored at the root like Docker's (``*.pyc`` is a
top-level file; ``**/*.pyc`` any), which is the one glob dialect of ``model/paths``,
so they pass through as they are. Exceptions (``!pattern``) depend on the order of the
lines, which an include/exclude pair cannot say: with any, the file is applied here,
in order, and what it excludes is handed on as literal paths (a directory whose whole
content is excluded as one entry).

``Dockerfile.test.dockerignore`` is not read here: it is about the test base image's
build (usually everything out but the dependency files), not about the source.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.model.paths import COPY_EXCLUDES, matches
from pipeline.model.spec import DirectoryMount

DOCKERIGNORE = ".dockerignore"
STATE_DIR = ".slipway"  # Slipway's state of earlier versions, next to pipeline.yaml


def dockerignore_lines(root: Path) -> list[str]:
    """The patterns of ``root/.dockerignore`` in order (comments and blank lines out)."""
    try:
        text = (root / DOCKERIGNORE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:].strip() if negated else line
        body = os.path.normpath(body.lstrip("/")).replace(os.sep, "/")
        if body in ("", "."):
            body = "**"
        out.append(("!" if negated else "") + body)
    return out


def excluded(rel: str, lines: list[str]) -> bool:
    """Docker's rule: the last line that matches the path or one of its parents decides."""
    result = False
    for line in lines:
        negated = line.startswith("!")
        if matches(rel, (line[1:] if negated else line,)):
            result = not negated
    return result


def _literal_excludes(root: Path, lines: list[str]) -> list[str]:
    """What ``lines`` (with exceptions) exclude under ``root``, as literal paths."""

    def walk(folder: Path, rel: str) -> tuple[list[str], bool]:
        """(excluded paths under ``rel``, whether all of it is excluded)."""
        out: list[str] = []
        everything = True
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            path = f"{rel}{entry.name}"
            if entry.is_dir() and not entry.is_symlink():
                inner, whole = walk(entry, path + "/")
                if whole and excluded(path, lines):
                    out.append(path)
                else:
                    out += inner
                    everything = False
            elif excluded(path, lines):
                out.append(path)
            else:
                everything = False
        return out, everything

    found, _ = walk(root, "")
    return found


def dockerignore_excludes(root: Path) -> tuple[str, ...]:
    """The project's ``.dockerignore`` as exclude patterns of a copied directory."""
    lines = dockerignore_lines(root)
    if not any(line.startswith("!") for line in lines):
        return tuple(lines)
    return tuple(_literal_excludes(root, lines))


def _inside(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    return None if rel == "." else rel


def source_mount(
    root: Path, dest: str, *, include: tuple[str, ...], exclude: tuple[str, ...], report_dir: Path
) -> DirectoryMount:
    """The project root as the test container gets it."""
    excludes = [*COPY_EXCLUDES, STATE_DIR, *dockerignore_excludes(root), *exclude]
    report = _inside(report_dir, root)
    if report is not None:
        excludes.append(report)  # the run's own report, being written while jobs run
    return DirectoryMount(source=root, dest=dest, include=include, exclude=tuple(dict.fromkeys(excludes)))
