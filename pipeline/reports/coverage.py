"""One coverage combine for a run's jobs and for merged reports, with path mapping.

Coverage data records the paths where the code ran: ``/src/...`` inside a test
container, another runner's checkout in a merged CI matrix. Every such prefix is
mapped to the project root here, so the combined report names the files of this
checkout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import coverage

from pipeline.stages.base import SOURCE_DIR

log = logging.getLogger(__name__)


def combine(
    data_files: Sequence[Path],
    *,
    data_file: Path,
    xml_file: Path,
    root: Path,
    other_roots: Sequence[str] = (),
) -> float | None:
    """Combine ``data_files`` into ``data_file`` and ``xml_file``; the total percent, or
    None when there is nothing to combine or coverage cannot (logged)."""
    if not data_files:
        return None
    cov = coverage.Coverage(data_file=str(data_file), config_file=False)
    # The first entry is where paths end up; the others are what the code ran under.
    aliases = [a for a in dict.fromkeys([SOURCE_DIR, *other_roots]) if a != str(root)]
    cov.set_option("paths", {"source": [str(root), *aliases]})
    try:
        cov.combine([str(p) for p in data_files], keep=True)
        cov.save()
        percent = cov.xml_report(outfile=str(xml_file), ignore_errors=True)
    except coverage.exceptions.CoverageException as exc:
        log.warning("coverage could not be combined: %s", exc)
        return None
    return round(float(percent), 2)
