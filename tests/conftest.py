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


@pytest.fixture(autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own empty cache store (runs it starts inherit the environment):
    a result cached by an earlier test, or by the user's own runs, must not turn a run
    under test into ``cached``. Tests of the cache set these themselves."""
    path = tmp_path_factory.mktemp("slipway-cache")
    monkeypatch.setenv("SLIPWAY_CACHE_DIR", str(path))
    for var in ("SLIPWAY_CACHE_S3_URL", "SLIPWAY_CACHE_S3_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own state folder (last run's durations, release history): runs
    under test never read the user's, nor each other's."""
    path = tmp_path_factory.mktemp("slipway-state")
    monkeypatch.setenv("SLIPWAY_STATE_DIR", str(path))
    return path
