"""How many xdist workers a small selection of tests is worth.

Each xdist worker costs a fixed price before its first test: a Python interpreter,
pytest's start-up, the project's collection and app import, and (with a database)
its own clone of the template. A worker pays that back only when enough tests run
on it. When impact analysis leaves a handful of tests, or a shard holds few, the
workers cost more than they save: such a selection runs in-process (``-n 0``), and a
larger one gets one worker per ``TESTS_PER_WORKER`` tests, never more than the
run's budget gave the job.

``TESTS_PER_WORKER``: on 2 cores a worker's start (interpreter, app import, clone)
is a few seconds on an idle machine and tens of seconds under load (report.json
``phases``); a database test takes 0.05 to 0.5 s. Below about 50 tests per worker the
start-up is not won back.

Standard library only: copied into test containers as ``slipway_pytest_workers``
(the impact plugin decides there, once the selection is known) and imported by the
stage on the host (a shard's tests are known there).
"""

from __future__ import annotations

TESTS_PER_WORKER = 50
# Fewer than two workers is a serial run with xdist's overhead on top: -n 0 instead.
MIN_PARALLEL = 2


def scaled_workers(cap: int, tests: int) -> int:
    """The xdist worker count for ``tests`` selected tests with at most ``cap`` workers;
    0 means in-process (``-n 0``)."""
    if cap < MIN_PARALLEL:
        return 0 if cap < 1 else cap
    useful = tests // TESTS_PER_WORKER
    return 0 if useful < MIN_PARALLEL else min(cap, useful)


def explain(cap: int, tests: int, what: str) -> str:
    """The choice in one line, for the job's log and report."""
    workers = scaled_workers(cap, tests)
    count = f"{tests} test" if tests == 1 else f"{tests} tests"
    if workers == cap:
        return f"xdist: -n {cap} ({what}: {count}, the budget's {cap} workers)"
    if workers == 0:
        return (
            f"xdist: -n 0, in-process, not the budget's {cap} workers ({what}: {count}, "
            f"fewer than {MIN_PARALLEL * TESTS_PER_WORKER}: workers would cost more to start than they save)"
        )
    return f"xdist: -n {workers}, not the budget's {cap} ({what}: {count}, one worker per {TESTS_PER_WORKER})"
