"""Reading a conftest, line by line, for a database name built from the xdist worker id.

Shared by the two places that ask: ``pipeline.detect`` (``slipway init``, reading a
checkout) and the pytest plugin's ``pipeline.testing.shapes`` (at run time, in the
test container). Each decides for itself which lines count; what it means for a line
to mention the worker id, and which function a line is in, are said once, here.

Standard library only, and nothing else of ours (a contract in pyproject.toml): it is
copied into the test container beside the plugin, as ``slipway_pytest_conftestscan``.
"""

from __future__ import annotations

import re

# The names a conftest reads the worker id by: the variable and pytest-xdist's fixture.
WORKER_NAMES = ("PYTEST_XDIST_WORKER", "worker_id")
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)")
# Words that say a line (or the function it is in) is about a database's name
# (case matters: not "application_name").
DB_TERMS = re.compile(r"[Dd]atabase|DATABASE|dbname|DB_NAME|\bNAME\b|(?<![A-Za-z])db(?![a-z])")


def code_lines(text: str) -> list[str]:
    """The lines of ``text`` with their comments cut off."""
    return [line.split("#", 1)[0] for line in text.splitlines()]


def worker_names(lines: list[str]) -> set[str]:
    """``WORKER_NAMES`` and the variables assigned from them, followed through up to
    three assignments (``worker = os.environ["PYTEST_XDIST_WORKER"]``, then
    ``suffix = f"_{worker}"``)."""
    tracked = set(WORKER_NAMES)
    for _ in range(3):
        for line in lines:
            m = _ASSIGN.match(line)
            if m and mentions(line[m.end() :], tracked):
                tracked.add(m.group(1))
    return tracked


def mentions(text: str, names: set[str]) -> bool:
    """True if ``text`` names one of ``names`` as a whole word."""
    return any(re.search(r"\b" + re.escape(n) + r"\b", text) for n in names)


def enclosing_def(lines: list[str], index: int) -> str:
    """The ``def`` line of the function that line ``index`` is in ("" at module level)."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        stripped = line.lstrip()
        if stripped and len(line) - len(stripped) < indent:
            if stripped.startswith(("def ", "async def ")):
                return stripped
            indent = len(line) - len(stripped)
    return ""
