"""A read-only view of a checkout: its files, their text, parsed configs, and lines."""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import tomllib
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pipeline.detect import yamlmarks
from pipeline.detect.findings import Question, Source

# Folders that belong to tools, not to the project: never read.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "htmlcov",
        "site-packages",
        ".slipway",
        ".venv",
        "venv",
        ".idea",
        ".vscode",
        "dist",
        "build",
        ".next",
        ".cache",
    }
)
MAX_DEPTH = 8
MAX_FILES = 20_000
MAX_BYTES = 2_000_000  # larger files are data, not configuration


class Repo:
    """Files under ``root`` (relative POSIX paths), read lazily and once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.problems: list[Question] = []
        self._text: dict[str, str | None] = {}
        self._toml: dict[str, dict[str, Any] | None] = {}
        self._yaml: dict[str, list[yamlmarks.YamlDoc] | None] = {}
        self._ini: dict[str, configparser.ConfigParser | None] = {}

    @cached_property
    def files(self) -> tuple[str, ...]:
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            depth = len(rel_dir.parts)
            # A virtual environment under any name: it has pyvenv.cfg at its top.
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in SKIP_DIRS
                and not d.endswith(".egg-info")
                and depth < MAX_DEPTH
                and not (Path(dirpath) / d / "pyvenv.cfg").exists()
            )
            for name in sorted(filenames):
                out.append((rel_dir / name).as_posix() if depth else name)
                if len(out) >= MAX_FILES:
                    self.problems.append(
                        Question("repository", f"more than {MAX_FILES} files: only the first were read")
                    )
                    return tuple(out)
        return tuple(out)

    @cached_property
    def _fileset(self) -> frozenset[str]:
        return frozenset(self.files)

    def exists(self, rel: str) -> bool:
        return _norm(rel) in self._fileset

    def is_dir(self, rel: str) -> bool:
        rel = _norm(rel)
        if rel in ("", "."):
            return True
        prefix = rel.rstrip("/") + "/"
        return any(f.startswith(prefix) for f in self.files)

    def glob(self, *patterns: str, under: str = ".") -> list[str]:
        """Files matching any pattern (fnmatch on the path relative to ``under``)."""
        base = _norm(under)
        prefix = "" if base in ("", ".") else base.rstrip("/") + "/"
        out = []
        for f in self.files:
            if not f.startswith(prefix):
                continue
            rel = f[len(prefix) :]
            if any(fnmatch.fnmatchcase(rel, p) for p in patterns):
                out.append(f)
        return out

    def named(self, *names: str, under: str = ".", max_depth: int = MAX_DEPTH) -> list[str]:
        """Files whose base name matches one of ``names`` (fnmatch), at most ``max_depth`` below ``under``."""
        base = _norm(under)
        prefix = "" if base in ("", ".") else base.rstrip("/") + "/"
        out = []
        for f in self.files:
            if not f.startswith(prefix):
                continue
            parts = f[len(prefix) :].split("/")
            if len(parts) - 1 > max_depth:
                continue
            if any(fnmatch.fnmatchcase(parts[-1], n) for n in names):
                out.append(f)
        return out

    def text(self, rel: str) -> str | None:
        rel = _norm(rel)
        if rel not in self._text:
            value: str | None = None
            if rel in self._fileset:
                path = self.root / rel
                try:
                    if path.stat().st_size <= MAX_BYTES:
                        value = path.read_text(encoding="utf-8", errors="replace")
                except OSError as exc:
                    self.problems.append(Question("repository", f"cannot read {rel}: {exc}", (Source(rel),)))
            self._text[rel] = value
        return self._text[rel]

    def toml(self, rel: str) -> dict[str, Any] | None:
        rel = _norm(rel)
        if rel not in self._toml:
            text = self.text(rel)
            value: dict[str, Any] | None = None
            if text is not None:
                try:
                    value = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    self.problems.append(
                        Question("repository", f"{rel} is not valid TOML: {exc}", (Source(rel),))
                    )
            self._toml[rel] = value
        return self._toml[rel]

    def yaml(self, rel: str) -> list[yamlmarks.YamlDoc] | None:
        rel = _norm(rel)
        if rel not in self._yaml:
            text = self.text(rel)
            value: list[yamlmarks.YamlDoc] | None = None
            if text is not None:
                try:
                    value = yamlmarks.load(text)
                except yaml.YAMLError as exc:
                    line = getattr(getattr(exc, "problem_mark", None), "line", None)
                    src = Source(rel, line + 1 if isinstance(line, int) else None)
                    self.problems.append(Question("repository", f"{rel} is not valid YAML: {exc}", (src,)))
            self._yaml[rel] = value
        return self._yaml[rel]

    def yaml_doc(self, rel: str) -> yamlmarks.YamlDoc | None:
        """The first document of a YAML file, when it is a mapping."""
        docs = self.yaml(rel)
        if docs and isinstance(docs[0].data, dict):
            return docs[0]
        return None

    def ini(self, rel: str) -> configparser.ConfigParser | None:
        rel = _norm(rel)
        if rel not in self._ini:
            text = self.text(rel)
            value: configparser.ConfigParser | None = None
            if text is not None:
                parser = configparser.ConfigParser(interpolation=None, strict=False)
                try:
                    parser.read_string(text, source=rel)
                    value = parser
                except configparser.Error as exc:
                    self.problems.append(
                        Question("repository", f"{rel} is not a valid INI file: {exc}", (Source(rel),))
                    )
            self._ini[rel] = value
        return self._ini[rel]

    def line_of(self, rel: str, pattern: str | re.Pattern[str], start: int = 1) -> int | None:
        """The first 1-based line at or after ``start`` matching ``pattern`` (a regex)."""
        text = self.text(rel)
        if text is None:
            return None
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        for number, line in enumerate(text.splitlines(), 1):
            if number >= start and rx.search(line):
                return number
        return None

    def source(self, rel: str, pattern: str | re.Pattern[str] | None = None, *, start: int = 1) -> Source:
        """``rel`` and, when ``pattern`` matches a line, that line."""
        rel = _norm(rel)
        return Source(rel, self.line_of(rel, pattern, start) if pattern is not None else None)

    def toml_source(self, rel: str, table: str, key: str | None = None) -> Source:
        """Where ``[table]`` (and ``key = `` inside it) is written in a TOML file."""
        header = re.compile(r"^\s*\[+\s*" + re.escape(table) + r"\s*\]+\s*(#.*)?$")
        start = self.line_of(rel, header)
        if start is None:
            # Dotted keys or inline tables: look for the key anywhere.
            if key is not None:
                found = self.line_of(rel, r"^\s*(\"?)" + re.escape(key) + r"\1\s*=")
                if found is not None:
                    return Source(_norm(rel), found)
            return Source(_norm(rel))
        if key is None:
            return Source(_norm(rel), start)
        text = self.text(rel) or ""
        key_rx = re.compile(r"^\s*(\"?)" + re.escape(key) + r"\1\s*=")
        for number, line in enumerate(text.splitlines(), 1):
            if number <= start:
                continue
            if re.match(r"^\s*\[", line):
                break
            if key_rx.match(line):
                return Source(_norm(rel), number)
        return Source(_norm(rel), start)

    def join(self, base: str, rel: str) -> str:
        """``rel`` relative to the folder ``base``, normalized (``..`` resolved)."""
        return _norm(os.path.normpath(PurePosixPath(_norm(base), rel).as_posix()))


def _norm(rel: str) -> str:
    rel = rel.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return "." if rel in ("", ".") else rel.rstrip("/")


def under(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it (relative POSIX paths; "." is the root)."""
    folder = _norm(folder)
    return folder in (".", path) or path.startswith(folder + "/")


def relative(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` (both relative to the root)."""
    folder = _norm(folder)
    if folder == ".":
        return path
    if path == folder:
        return "."
    return path[len(folder) + 1 :] if path.startswith(folder + "/") else path


def parent(path: str) -> str:
    head = PurePosixPath(path).parent.as_posix()
    return "." if head in ("", ".") else head
