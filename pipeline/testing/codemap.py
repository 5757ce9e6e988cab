"""A project's Python files as test impact analysis sees them: blocks, checksums, imports.

Copied into the test container as ``slipway_pytest_codemap`` (standard library only),
where both halves of the analysis run with the project's own interpreter, so the
checksums that recorded a run and those that judge a change come from one parser.

A file is cut into *blocks* the way pytest-testmon does:

- each function or method that is defined directly in the module or in a class body
  (recursively) is a block: its body, named by its qualified name. A function nested
  in a function belongs to the enclosing block (it only runs when that one does);
- everything else is the *module block*: imports, constants, class bodies, and the
  ``def`` lines themselves (decorators, arguments, annotations, defaults), which all
  run at import time. A function's signature is part of the module block because
  frameworks read it without calling the function (FastAPI validates a request
  against the handler's annotations before the handler runs).

Checksums are over ``ast.dump`` (no positions, no comments), so moving code or
editing a comment changes nothing. ``imports`` are the project files a file may
import (module names resolved against the import roots), wherever the import
statement is: a module-level change reaches a test through the modules it imports.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

BODY = "<body>"  # what a function body turns into in the module block
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".slipway", "slipway-report",
})
_CHUNK = 1 << 20


def digest(parts: Iterable[str]) -> str:
    """One short checksum of strings, in order."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def file_sha(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()[:24]


def manifest(root: str) -> dict[str, str]:
    """Every file under ``root`` (posix path relative to it -> content checksum), less
    version control, virtualenvs, caches and Slipway's own state."""
    out: dict[str, str] = {}
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        rel_dir = os.path.relpath(here, root)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            try:
                out[rel] = file_sha(os.path.join(here, name))
            except OSError:
                continue  # vanished or unreadable: not something a test reads either
    return out


@dataclass(frozen=True, slots=True)
class FileMap:
    """One Python file: its module block's checksum, its blocks' and what it imports."""

    sha: str
    module: str
    blocks: dict[str, str] = field(default_factory=dict)  # qualname -> checksum
    imports: tuple[str, ...] = ()  # project files (relative paths)
    parsed: bool = True  # False: a syntax error; nothing of it can be trusted

    def as_json(self) -> dict[str, object]:
        return {"sha": self.sha, "module": self.module, "blocks": self.blocks,
                "imports": list(self.imports), "parsed": self.parsed}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileMap:
        blocks = data.get("blocks") or {}
        imports = data.get("imports") or []
        assert isinstance(blocks, dict) and isinstance(imports, list)
        return cls(sha=str(data["sha"]), module=str(data["module"]),
                   blocks={str(k): str(v) for k, v in blocks.items()},
                   imports=tuple(str(i) for i in imports), parsed=bool(data.get("parsed", True)))


class BlockTransformer(ast.NodeTransformer):
    """Visits each block's function once, with its qualified name (``Class.method``).

    The one definition of a block for both halves of the analysis: ``_Splitter`` here
    names the blocks a record keeps, impact's instrumenter the blocks a run hits.
    Nested functions are not visited: they belong to their enclosing block.
    """

    def __init__(self) -> None:
        self._scope: list[str] = []

    def block(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> None:
        """Rewrite ``node`` (a block's function) in place."""
        raise NotImplementedError

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self.block(node, ".".join([*self._scope, node.name]))
        return node

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._scope.append(node.name)
        try:
            self.generic_visit(node)
        finally:
            self._scope.pop()
        return node


class _Splitter(BlockTransformer):
    """Cuts function bodies out of the tree (into ``blocks``), leaving ``BODY`` behind."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, str] = {}

    def block(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> None:
        # The body with any nested function still in it: it runs with this block.
        body = "\n".join(ast.dump(stmt) for stmt in node.body)
        self.blocks[qualname] = digest([body])
        node.body = [ast.Expr(value=ast.Constant(value=BODY))]


def blocks_of(source: str, filename: str = "<file>") -> tuple[str, dict[str, str]] | None:
    """(module checksum, {qualname: checksum}) of ``source``; None if it does not parse."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return None
    splitter = _Splitter()
    tree = splitter.visit(tree)
    return digest([ast.dump(tree)]), splitter.blocks


def imported_names(source: str, module: str, is_package: bool) -> list[str]:
    """Dotted module names ``source`` may import (with ``from x import y``: x and x.y)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    package = module if is_package else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            if base:
                names.append(base)
                names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def module_name(rel: str, roots: Sequence[str]) -> tuple[str, bool] | None:
    """(dotted name, is a package) of a file under one of the import ``roots``."""
    for root in roots:
        prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
        if not rel.startswith(prefix) or not rel.endswith(".py"):
            continue
        parts = rel[len(prefix): -3].split("/")
        if parts[-1] == "__init__":
            return ".".join(parts[:-1]), True
        return ".".join(parts), False
    return None


def resolve(name: str, files: set[str] | dict[str, object], roots: Sequence[str]) -> Iterator[str]:
    """The project files importing ``name`` executes: the module and its parent packages."""
    parts = name.split(".")
    for n in range(1, len(parts) + 1):
        path = "/".join(parts[:n])
        for root in roots:
            prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
            for candidate in (f"{prefix}{path}.py", f"{prefix}{path}/__init__.py"):
                if candidate in files:
                    yield candidate


def map_file(root: str, rel: str, sha: str, files: set[str], roots: Sequence[str]) -> FileMap:
    """Parse one file of the project (``files``: every .py file, for resolving imports)."""
    try:
        with open(os.path.join(root, rel), "rb") as fh:
            source = fh.read().decode("utf-8", "replace")
    except OSError:
        return FileMap(sha=sha, module=sha, parsed=False)
    parsed = blocks_of(source, rel)
    if parsed is None:
        return FileMap(sha=sha, module=sha, parsed=False)
    module, blocks = parsed
    own = module_name(rel, roots)
    imports: set[str] = set()
    if own is not None:
        for name in imported_names(source, own[0], own[1]):
            imports.update(f for f in resolve(name, files, roots) if f != rel)
    return FileMap(sha=sha, module=module, blocks=blocks, imports=tuple(sorted(imports)))


def code_map(
    root: str, files: dict[str, str], roots: Sequence[str], known: dict[str, FileMap] | None = None
) -> dict[str, FileMap]:
    """Every .py file of ``files`` (path -> sha), reusing ``known`` maps of unchanged files."""
    known = known or {}
    python = {rel for rel in files if rel.endswith(".py")}
    out: dict[str, FileMap] = {}
    for rel in sorted(python):
        old = known.get(rel)
        out[rel] = old if old is not None and old.sha == files[rel] else map_file(
            root, rel, files[rel], python, roots)
    return out


def closure(starts: Iterable[str], files: dict[str, FileMap]) -> set[str]:
    """``starts`` and every project file they import, transitively."""
    seen: set[str] = set()
    todo = [s for s in starts if s in files]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        todo.extend(i for i in files[rel].imports if i not in seen and i in files)
    return seen
