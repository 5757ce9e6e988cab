"""Where a test lives: its file and line in the repository.

Test locations come from the run's JUnit (``junit_locations``), which Slipway
writes with each test's ``file`` relative to the repository's root and its 1-based
``line`` (``reports/junit.py``); without them, the node id gives the file (mapped
from the container by ``PathMap``) and the test's source the line (``find_test_line``).
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pipeline.reports.paths import PathMap
from pipeline.stages.pytest.junit import node_id as junit_node_id

__all__ = ["PathMap", "TestLocation", "file_of", "find_test_line", "junit_locations"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TestLocation:
    """A test case as the run's JUnit names it: node id (relative to pytest's rootdir,
    as in report.json's failures), file (relative to the repository), 1-based line,
    and its failure message if any."""

    __test__ = False  # not a pytest test class, whatever its name says

    node_id: str
    suite: str = ""
    file: str | None = None
    line: int | None = None
    message: str = ""


def junit_locations(source: Path | str) -> list[TestLocation]:
    """Every test case of the run's JUnit file (one suite or merged) with its file, line
    and message.

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
            file = case.get("file") or None
            problem = next((c for c in case if c.tag in ("failure", "error")), None)
            line = case.get("line")
            out.append(
                TestLocation(
                    node_id=junit_node_id(case.get("classname", ""), case.get("name", ""), file=file),
                    suite=suite.get("name", ""),
                    file=file,
                    line=int(line) if line and line.isdigit() else None,
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
