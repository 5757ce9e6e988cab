"""JUnit XML from a test job, read back into each test's final outcome and totals.

What pytest writes, checked against pytest 9 and pytest-rerunfailures 16:

- one ``<testcase classname="tests.unit.test_x.TestK" name="test_p[a b]">`` per
  test, with a ``<failure>``, ``<error>`` or ``<skipped>`` child, or none when
  it passed; xfail is a ``<skipped type="pytest.xfail">``;
- a test that failed in its call *and* in teardown has two entries (failure,
  then error);
- a collection error is ``classname=""`` and ``name`` the dotted module path;
- pytest-rerunfailures records every attempt that is rerun as an entry of its
  own *with no child at all* (no ``<rerunFailure>``, no property), before the
  final attempt. So a test with several entries and no failure or error among
  them failed and then passed: flaky. Maven's ``<flakyFailure>`` /
  ``<rerunFailure>`` children are read the same way.

We parse with xml.etree rather than defusedxml: these files are written by
pytest in our own test containers, and Python's expat neither fetches external
entities nor (since expat 2.4.1, bundled) expands entities exponentially.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.model.outcome import TestTotals

Outcome = Literal["passed", "failed", "error", "skipped", "flaky"]
_RERUN_TAGS = ("rerunFailure", "rerunError", "flakyFailure", "flakyError")
# What Slipway's plugin records per failing test (pipeline/testing/causes.py).
CAUSE_PROPERTY = "slipway_cause"
NETWORK_PROPERTY = "slipway_network"


class JUnitError(ValueError):
    """A JUnit file that cannot be read; the message names it."""


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One test's final result in one suite (its rerun attempts folded in)."""

    node_id: str
    outcome: Outcome
    suite: str
    attempts: int
    time: float  # seconds of the final attempt
    message: str
    cause: str = ""  # the plugin's one-line cause of a failure or error (``slipway_cause``)
    network: bool = False  # it failed for want of a network (``slipway_network``)


def node_id(classname: str, name: str, *, file: str | None = None, root: Path | None = None) -> str:
    """The pytest node id (``tests/x.py::Class::test[p]``) for a JUnit testcase.

    pytest writes the file path with ``/`` turned into ``.`` and ``.py``
    dropped, followed by the class names, so where the path ends is ambiguous.
    In order: the ``file`` attribute (``junit_family=xunit1``); else the longest
    dotted prefix that is a file under ``root`` (the pytest rootdir); else the
    trailing parts that start with a capital letter are taken as classes.
    """
    if not classname:  # a collection error: name is the dotted module path
        return name.replace(".", "/") + ".py"
    parts = classname.split(".")
    cut: int | None = None
    if file:
        found = _rootdir_part(file, parts)
        if found is not None:
            file, cut = found
    elif root is not None:
        found = _module_in_tree(root, parts, 0)
        if found is not None:
            file, cut = found
    if cut is None:
        cut = len(parts)
        while cut > 1 and parts[cut - 1][:1].isupper():
            cut -= 1
    path = file or "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], name])


def _rootdir_part(file: str, parts: list[str]) -> tuple[str, int] | None:
    """The end of ``file`` that pytest's dotted classname starts with, and how many of
    its parts that is: all of a path relative to pytest's rootdir (pytest's own
    ``file``), the tail of one named from the repository's root (Slipway's CI JUnit).
    A dot inside a directory or file name adds a part too, as pytest dots it."""
    path = Path(file)
    components = path.with_suffix("").as_posix().split("/")
    found: tuple[str, int] | None = None
    used = 0
    for index in range(len(components) - 1, -1, -1):
        used += len(components[index].split("."))
        if used > len(parts):
            break
        if [p for c in components[index:] for p in c.split(".")] == parts[:used]:
            found = ("/".join(components[index:]) + (path.suffix or ".py"), used)  # the longest wins
    return found


def _module_in_tree(directory: Path, parts: list[str], start: int) -> tuple[str, int] | None:
    """The test module that the longest prefix of ``parts`` names under ``directory``.

    Each dot was either a ``/`` or a dot in a file or directory name, so every
    grouping that exists on disk is tried; returns (relative path, parts used).
    """
    best: tuple[str, int] | None = None
    for end in range(start + 1, len(parts) + 1):
        name = ".".join(parts[start:end])
        if (directory / (name + ".py")).is_file() and (best is None or end > best[1]):
            best = (name + ".py", end)
        if end < len(parts) and (directory / name).is_dir():
            deeper = _module_in_tree(directory / name, parts, end)
            if deeper is not None and (best is None or deeper[1] > best[1]):
                best = (f"{name}/{deeper[0]}", deeper[1])
    return best


def suites(root: ET.Element) -> list[ET.Element]:
    return [root] if root.tag == "testsuite" else root.findall("testsuite")


def read(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()  # noqa: S314 -- our own files; see the module docstring
    except (OSError, ET.ParseError) as exc:
        raise JUnitError(f"{path}: cannot read JUnit XML: {exc}") from exc


def results(path: Path, *, root: Path | None = None) -> list[CaseResult]:
    """Every test in a JUnit file (single or merged), by final outcome, in file order."""
    return results_of(read(path), root)


def results_of(element: ET.Element, root: Path | None) -> list[CaseResult]:
    out: list[CaseResult] = []
    for suite in suites(element):
        attempts: dict[str, list[ET.Element]] = {}
        for case in suite.iter("testcase"):
            nid = node_id(
                case.get("classname", ""), case.get("name", ""), file=case.get("file"), root=root
            )
            attempts.setdefault(nid, []).append(case)
        out.extend(_fold(nid, cases, suite.get("name", "")) for nid, cases in attempts.items())
    return out


def _fold(nid: str, cases: list[ET.Element], suite: str) -> CaseResult:
    children = [child for case in cases for child in case]
    tags = {child.tag for child in children}
    final = cases[-1]
    outcome: Outcome
    if "failure" in tags:
        outcome = "failed"
    elif "error" in tags:
        outcome = "error"
    elif final.find("skipped") is not None:
        outcome = "skipped"
    elif len(cases) > 1 or tags.intersection(_RERUN_TAGS):
        outcome = "flaky"
    else:
        outcome = "passed"
    message = next(
        (c.get("message", "") for c in children if c.tag in ("failure", "error", "skipped")), ""
    )
    try:
        seconds = float(final.get("time", "0") or 0)
    except ValueError:
        seconds = 0.0
    props = {
        prop.get("name", ""): prop.get("value", "")
        for case in cases
        for prop in case.iter("property")
    }
    return CaseResult(
        nid,
        outcome,
        suite,
        _attempts(cases),
        seconds,
        message,
        cause=props.get(CAUSE_PROPERTY, "") if outcome in ("failed", "error") else "",
        network=NETWORK_PROPERTY in props and outcome in ("failed", "error"),
    )


def _attempts(cases: list[ET.Element]) -> int:
    # A failed call followed by a failed teardown is one attempt written as two
    # entries (failure, then error); every other entry is an attempt of its own.
    count = 0
    previous_failed = False
    for case in cases:
        error = case.find("error")
        teardown = error is not None and error.get("message", "").startswith("failed on teardown")
        if not (teardown and previous_failed):
            count += 1
        previous_failed = case.find("failure") is not None
    return count


def totals(cases: Iterable[CaseResult]) -> TestTotals:
    """Counts by final outcome; a test that failed and then passed on rerun is flaky only."""
    counts = dict.fromkeys(("passed", "failed", "error", "skipped", "flaky"), 0)
    for case in cases:
        counts[case.outcome] += 1
    return TestTotals(
        passed=counts["passed"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        errors=counts["error"],
        flaky=counts["flaky"],
    )


def failing(cases: Iterable[CaseResult]) -> list[str]:
    """Node ids of tests that failed or errored, once each, for reproduce commands."""
    return list(dict.fromkeys(c.node_id for c in cases if c.outcome in ("failed", "error")))


def flaky(cases: Iterable[CaseResult]) -> list[str]:
    """Node ids of tests that failed and then passed on a rerun."""
    return list(dict.fromkeys(c.node_id for c in cases if c.outcome == "flaky"))


def durations(cases: Iterable[CaseResult]) -> dict[str, float]:
    """``{node id: seconds}`` for the shards' durations record (pytest-split's format)."""
    return {c.node_id: c.time for c in cases if c.outcome != "skipped"}
