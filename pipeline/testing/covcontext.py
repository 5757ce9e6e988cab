"""Coverage's ``dynamic_context = test_function`` under pytest-xdist, made to work.

pytest-cov refuses that setting when tests run in xdist workers (``DistCovError``:
coverage's own per-function contexts do not survive the workers), and warns about it
in a serial run, pointing at its ``--cov-context=test`` instead, which records the
same thing (one context per test) and works everywhere. A project configured for
``coverage run -m pytest`` has it, so Slipway translates: it hands pytest-cov a copy
of the project's coverage configuration without that one line, and asks for
``--cov-context=test``. Every other setting (source, branch, omit, paths...) is the
project's own. The job's log says so.

Copied into the test container beside the plugin (as ``slipway_pytest_cov``):
standard library, pytest and the project's own coverage only.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

_SETTING = re.compile(r"^(\s*)(dynamic_context\s*[=:].*)$", re.MULTILINE)


def configured(namespace: argparse.Namespace) -> tuple[str, str] | None:
    """(the config file coverage reads, its dynamic_context) when pytest-cov is on."""
    if not getattr(namespace, "cov_source", None):
        return None  # no --cov: pytest-cov is off (or not installed)
    try:
        from coverage.config import read_coverage_config  # noqa: PLC0415  (the project's coverage, if any)
    except ImportError:
        return None
    given = getattr(namespace, "cov_config", ".coveragerc")
    # ".coveragerc" is pytest-cov's default: coverage then searches as it always does.
    config = read_coverage_config(config_file=True if given == ".coveragerc" else given, warn=lambda _: None)
    path = getattr(config, "config_file", None)
    if not path:
        return None
    return str(path), str(config.dynamic_context or "")


def without_dynamic_context(path: Path) -> Path:
    """A copy of the coverage config at ``path`` with its dynamic_context line commented out.

    The copy keeps the file's name (``pyproject.toml``, ``setup.cfg``...) so coverage
    reads it the same way; paths in it are relative to the working directory, not to
    the file, so its place does not matter.
    """
    text = path.read_text(encoding="utf-8")
    copy = Path(tempfile.mkdtemp(prefix="slipway-coverage-")) / path.name
    copy.write_text(_SETTING.sub(r"\1# (slipway: --cov-context=test instead) \2", text), encoding="utf-8")
    return copy


def translate(namespace: argparse.Namespace) -> str | None:
    """Switch ``test_function`` contexts to pytest-cov's ``--cov-context=test``; returns
    what was done, for the job's log, or None when there was nothing to do."""
    found = configured(namespace)
    if found is None or found[1] != "test_function":
        return None
    path = Path(found[0])
    namespace.cov_config = str(without_dynamic_context(path))
    namespace.cov_context = "test"
    return (
        f"coverage: dynamic_context = test_function ({path.name}) is refused by pytest-cov under "
        "xdist; the same per-test contexts are recorded with --cov-context=test"
    )
