"""Which paths a run looks at: the directories it always leaves out, and the one glob
dialect for every selection (cache inputs, files copied into containers, scans).

Patterns are gitignore's, through the ``pathspec`` library, anchored at the root
they are given for: a pattern matches a whole relative posix path (``*.lock`` is
a top-level lock file, ``**/*.lock`` any), ``**`` spans directories, ``*`` and
``?`` stay within one, ``[abc]`` / ``[!abc]`` are classes, and a pattern that
matches a directory takes everything under it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec
from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

# Never copied into a container, never part of a cache key, never scanned: VCS data,
# virtualenvs, dependency and tool caches. The same list for all three.
EXCLUDED_DIRS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)
# The same directories as exclude patterns for a copied directory, at any depth.
COPY_EXCLUDES: tuple[str, ...] = tuple(f"**/{d}" for d in EXCLUDED_DIRS)


def _anchored(pattern: str) -> str:
    """The pattern as gitignore would read it relative to the root: ``/`` in front (also
    keeps a leading ``#`` or ``!`` literal), no trailing ``/``; ``.`` or empty is all."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.strip("/")
    if not pattern or pattern == ".":
        pattern = "**"
    return "/" + pattern


@functools.lru_cache(maxsize=512)
def _spec(patterns: tuple[str, ...]) -> pathspec.PathSpec[GitIgnoreBasicPattern]:
    return pathspec.PathSpec.from_lines("gitignore", [_anchored(p) for p in patterns])


def _prefixes(rel: str) -> Iterator[str]:
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        yield "/".join(parts[:n])


def matches(rel: str, patterns: Iterable[str]) -> bool:
    """True when ``rel`` (posix, relative) or one of its parent directories matches."""
    spec = _spec(tuple(patterns))
    return any(spec.match_file(prefix) for prefix in _prefixes(rel))


@dataclass(frozen=True, slots=True)
class Selection:
    """Include and exclude patterns: a path is selected if an include matches it (or there
    is none) and no exclude does."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_globs(cls, globs: Iterable[str]) -> Selection:
        """``!pattern`` excludes, any other pattern includes."""
        globs = list(globs)
        return cls(
            include=tuple(g for g in globs if not g.startswith("!")),
            exclude=tuple(g[1:] for g in globs if g.startswith("!")),
        )

    def included(self, rel: str) -> bool:
        return not self.include or matches(rel, self.include)

    def excluded(self, rel: str) -> bool:
        return bool(self.exclude) and matches(rel, self.exclude)

    def selects(self, rel: str) -> bool:
        return self.included(rel) and not self.excluded(rel)


def dockerignore(context: Path, dockerfile: str = "Dockerfile") -> tuple[str, ...]:
    """The exclude patterns Docker applies to a build context, as Docker finds them:
    ``<Dockerfile>.dockerignore`` beside the Dockerfile first, else the context's
    ``.dockerignore``; comments and blank lines dropped. The patterns are Docker's own
    (``!`` keeps, ``**`` spans directories), which Dagger's uploads read the same way.
    The Dockerfile itself is always kept, as Docker keeps it."""
    candidates = [context / f"{dockerfile}.dockerignore", context / ".dockerignore"]
    for path in candidates:
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            patterns = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            return (*patterns, f"!{dockerfile}") if patterns else ()
    return ()
