"""How a test reacts to a missing real part, importable without the integration conftest
(which needs tests/integration on sys.path for its ``pgserver`` fixture module): unit and
e2e tests reach the live Dagger helpers through ``dagger_live``, which uses this."""

from __future__ import annotations

import os

import pytest


def missing_part(reason: str) -> None:
    """Skip on a developer's machine that lacks a real part; fail in CI, where
    .ci/run sets everything up, so a broken setup can never pass as skipped."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run should have provided it)")
    pytest.skip(reason)
