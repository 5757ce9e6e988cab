"""Share one machine's cores among the test jobs that run at the same time.

Each test container runs pytest-xdist. If every container took ``-n <all
cores>``, three groups on a 4-core machine would run 12 workers on 4 cores, and
oversubscription loses (a database-heavy suite: 706 s with ``-n 2``, 872 s with
``-n 4`` on 2 cores). So the cores are a budget.

The rule: each job's share is proportional to its weight (its expected work:
recorded seconds, or test count when there is no record), every job gets at
least one worker, and the counts add up to the cores exactly (largest
remainder: whole parts first, then the leftover cores one by one to the jobs
whose share lost most in rounding). When there are at least as many jobs as
cores, each job gets one worker: fewer is impossible, and the sum then exceeds
the cores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def budget_workers(total_cores: int, jobs: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Worker counts per job name for ``jobs`` = ``[(name, weight), ...]`` sharing the cores."""
    if total_cores < 1:
        raise ValueError(f"total_cores must be at least 1, got {total_cores}")
    names = [name for name, _ in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    if any(weight < 0 for _, weight in jobs):
        raise ValueError(f"weights must not be negative: {list(jobs)}")
    if not jobs:
        return {}
    if len(jobs) >= total_cores:
        return dict.fromkeys(names, 1)
    total_weight = sum(weight for _, weight in jobs)
    # No known work anywhere: share evenly rather than divide by zero.
    weights = [w if total_weight else 1 for _, w in jobs]
    total_weight = sum(weights)
    # Exact fractions: the result must not depend on float rounding.
    shares = [Fraction(total_cores * w, total_weight) for w in weights]
    counts = [max(1, math.floor(s)) for s in shares]
    order = range(len(jobs))
    # The minimum of one may overshoot: take back from the most over-served.
    while sum(counts) > total_cores:
        i = max((i for i in order if counts[i] > 1), key=lambda i: (counts[i] - shares[i], -i))
        counts[i] -= 1
    while sum(counts) < total_cores:
        i = max(order, key=lambda i: (shares[i] - counts[i], weights[i], -i))
        counts[i] += 1
    return dict(zip(names, counts, strict=True))
