"""Where a test lives: its file and line in the repository.

Test locations come from pytest's JUnit XML (``junit_locations``); without a
file or line there, the node id gives the file and the test's source the line
(``find_test_line``). ``PathMap`` maps a path seen in the container back to the
repository (GitHub's workspace).
"""

from __future__ import annotations

import ast
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class TestLocation:
    """A test case as pytest's JUnit names it: node id, file (relative to pytest's rootdir
    in the container, or absolute), 1-based line, and its failure message if any."""

    __test__ = False  # not a pytest test class, whatever its name says

    node_id: str
    suite: str = ""
    file: str | None = None
    line: int | None = None
    message: str = ""


def _node_id(classname: str, name: str, file: str | None) -> tuple[str, str]:
    """(node id, file) for a JUnit testcase, as pytest builds them (see reports/junit.py)."""
    if not classname:  # a collection error: name is the dotted module path
        path = file or name.replace(".", "/") + ".py"
        return path, path
    parts = classname.split(".")
    if file:
        cut = len(Path(file).with_suffix("").as_posix().replace("/", ".").split("."))
    else:
        cut = len(parts)
        while cut > 1 and parts[cut - 1][:1].isupper():
            cut -= 1
    path = file or "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], name]), path


def junit_locations(source: Path | str) -> list[TestLocation]:
    """Every test case of a JUnit file (one suite or merged) with its file, line and message.

    ``source`` is a path or the XML text. Our own pytest writes these files, so
    ElementTree is safe enough here (expat fetches no external entity).
    """
    try:
        # Our own files: see the docstring.
        root = ET.parse(source).getroot() if isinstance(source, Path) else ET.fromstring(source)  # noqa: S314
    except (OSError, ET.ParseError):
        return []
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    out: list[TestLocation] = []
    for suite in suites:
        for case in suite.iter("testcase"):
            file_attr = case.get("file") or None
            node_id, path = _node_id(case.get("classname", ""), case.get("name", ""), file_attr)
            problem = next((c for c in case if c.tag in ("failure", "error")), None)
            line = case.get("line")
            out.append(
                TestLocation(
                    node_id=node_id,
                    suite=suite.get("name", ""),
                    file=path,
                    # xunit1 writes pytest's 0-based line; editors and GitHub count from 1.
                    line=int(line) + 1 if line and line.isdigit() else None,
                    message=(problem.get("message", "") if problem is not None else ""),
                )
            )
    return out


def file_of(node_id: str) -> str:
    """The file part of a pytest node id (``tests/x.py::T::test[a::b]`` -> ``tests/x.py``)."""
    return node_id.split("::", 1)[0]


def find_test_line(source: str, node_id: str) -> int | None:
    """The 1-based line pytest reports for the test ``node_id`` names in ``source``:
    its first decorator's, else its ``def``'s; None when it is not found."""
    parts = node_id.split("::")[1:]
    if not parts:
        return None
    names = [*parts[:-1], re.sub(r"\[.*\]$", "", parts[-1], flags=re.DOTALL)]
    try:
        body: list[ast.stmt] = ast.parse(source).body
    except (SyntaxError, ValueError):
        return None
    node: ast.stmt | None = None
    for name in names:
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
            ),
            None,
        )
        if node is None:
            return None
        body = node.body if isinstance(node, ast.ClassDef) else []
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


@dataclass(frozen=True, slots=True, kw_only=True)
class PathMap:
    """How a test's path maps back to the repository (GitHub's workspace).

    ``project_dir``: the project root relative to the repository root ("" when
    they are the same). ``container_root``: where the project root is copied in
    a job's container. ``workdirs``: per stage, pytest's rootdir relative to the
    project root (the stage's ``workdir``), which JUnit's relative paths start from.
    """

    project_dir: str = ""
    container_root: str = "/src"
    workdirs: Mapping[str, str] = field(default_factory=dict)

    def to_repo(self, path: str, *, stage: str | None = None) -> str | None:
        """The repository-relative path, or None for a path outside the project."""
        path = path.replace("\\", "/")
        if posixpath.isabs(path):
            root = self.container_root.rstrip("/") or "/"
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                return None
            inside = posixpath.relpath(path, root)
        else:
            inside = posixpath.join(self.workdirs.get(stage or "", "."), path)
        mapped = posixpath.normpath(posixpath.join(self.project_dir or ".", inside))
        return None if mapped == ".." or mapped.startswith("../") else mapped
