"""Steps that run after the scheduler and add to report.json (merged JUnit, coverage...).

Each finalizer gets the run and the scheduler's result and returns extra report
keys. ``failed_checks`` (a list of sentences) fails the run although every job
passed, e.g. a coverage threshold that the combined coverage misses.
"""

from __future__ import annotations

from pipeline.reports import testsuite
from pipeline.run import Finalizer

FINALIZERS: tuple[Finalizer, ...] = (testsuite.finalize,)
