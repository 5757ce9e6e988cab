"""Steps that run after the scheduler and add to report.json (merged JUnit, coverage...).

Each finalizer gets the run and the scheduler's result and returns extra report
keys; a finalizer never fails the run (the jobs' own statuses do that).
"""

from __future__ import annotations

from pipeline.run import Finalizer

FINALIZERS: tuple[Finalizer, ...] = ()
