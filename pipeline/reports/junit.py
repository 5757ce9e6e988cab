"""JUnit XML of every test job merged into one file for CI (``junit.xml`` of the report).

Suites are kept as pytest wrote them (read by ``stages/pytest/junit.py``); only their
names change, to say which job ran them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from pipeline.model.outcome import TestTotals
from pipeline.stages.pytest.junit import read, results_of, suites, totals

_SUMMED = ("tests", "failures", "errors", "skipped")


def merge(
    files: Sequence[Path], output: Path, *, names: Sequence[str] | None = None
) -> TestTotals:
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
