"""The JUnit XML that CI systems read: one file per test job (``junit/<job>.xml``) and
all of them merged (``junit.xml``), in the report directory.

Suites are kept as pytest wrote them (read by ``stages/pytest/junit.py``), with
``classname`` the dotted path pytest gives (``tests.api.test_orders.TestRefund``),
except for what CI systems need to point at a test: each suite is named after the
job that ran it, each testcase's ``file`` is relative to the repository's root (the
container's and pytest's rootdir are mapped away), and its ``line`` counts from 1
(pytest's xunit1 writes its own 0-based line). GitLab's test report, GitHub's JUnit
actions (``file`` and ``line`` for annotations) and Woodpecker's plugins read these.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.model.outcome import TestTotals
from pipeline.stages.pytest.junit import read, results_of, suites, totals

_SUMMED = ("tests", "failures", "errors", "skipped")


def merge(files: Sequence[Path], output: Path, *, names: Sequence[str] | None = None) -> TestTotals:
    """Write one ``<testsuites>`` holding every suite of ``files``; return the totals.

    Suites are kept as they are, except that ``names[i]``, when given, renames
    the suites of ``files[i]`` (pytest calls them all "pytest"; a job name says
    where a test ran). The root's counters and time are the suites' sums.
    """
    if names is not None and len(names) != len(files):
        raise ValueError("names must have one entry per file")
    merged = ET.Element("testsuites", {"name": "slipway"})
    sums = dict.fromkeys(_SUMMED, 0)
    seconds = 0.0
    total = TestTotals()
    for i, path in enumerate(files):
        element = read(path)
        total += totals(results_of(element, None))
        for suite in suites(element):
            if names is not None:
                suite.set("name", names[i])
            for key in _SUMMED:
                sums[key] += _int(suite.get(key))
            seconds += _float(suite.get("time"))
            merged.append(suite)
    for key, value in sums.items():
        merged.set(key, str(value))
    merged.set("time", f"{seconds:.3f}")
    output.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(merged).write(output, encoding="utf-8", xml_declaration=True)
    return total


def ci_copy(source: Path, dest: Path, *, suite: str, to_repo: Callable[[str], str | None]) -> Path:
    """Write ``source`` (pytest's JUnit of one job) to ``dest`` as CI systems read it: its
    suites named ``suite``, files mapped by ``to_repo`` (kept when it cannot map them),
    lines counted from 1. Raises ``JUnitError`` for a file that cannot be read."""
    element = read(source)
    for found in suites(element):
        found.set("name", suite)
        for case in found.iter("testcase"):
            file = case.get("file")
            mapped = to_repo(file) if file else None
            if mapped:
                case.set("file", mapped)
            line = case.get("line")
            if line is not None and line.isdigit():
                case.set("line", str(int(line) + 1))
    dest.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(element).write(dest, encoding="utf-8", xml_declaration=True)
    return dest


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _float(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0
