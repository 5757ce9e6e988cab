"""Every test is marked by the folder it lives in, so `-m unit` etc. select by kind."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.path)).relative_to(TESTS)
        if rel.parts and rel.parts[0] in KINDS:
            item.add_marker(getattr(pytest.mark, rel.parts[0]))
