"""Two runs of the same pipeline at once on one host (issue 11, item 5), as two CI
jobs on one runner: two checkouts of one project (same name, same cache store),
started together. Both must be green with their own reports (every job, their own
run id), with no collision of containers, networks or volumes and nothing left.
(The release history's lock is tests/unit/test_release_lock.py.)

    PYTHONPATH=tests .venv/bin/python -m trust.concurrent
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from trust.common import client, env_for, finish, leftovers, make_project, start, statuses

JOBS = {"token", "db", "build", "after"}


def concurrent(workdir: Path, pairs: int) -> tuple[int, list[str]]:
    """(runs made, problems)."""
    c = client()
    problems: list[str] = []
    made = 0
    for n in range(pairs):
        shared = workdir / f"cache{n}"
        projects = [make_project(workdir / f"pair{n}-{side}") for side in "ab"]
        started = time.monotonic()
        procs = [start(p, "--report-dir", "out", env=env_for(p, SLIPWAY_CACHE_DIR=str(shared))) for p in projects]
        results = [finish(proc, p / "out", started) for proc, p in zip(procs, projects, strict=True)]
        made += 2
        run_ids = set()
        for side, res in zip("ab", results, strict=True):
            jobs = statuses(res.report)
            if res.code != 0 or set(jobs) != JOBS or any(s not in ("success", "cached") for s in jobs.values()):
                problems.append(f"pair {n} run {side}: exit {res.code}, jobs {jobs}: {res.err.strip()[-400:]}")
            if res.report:
                run_ids.add(res.report["run_id"])
                problems += [f"pair {n} run {side}: left {x}" for x in leftovers(c, res.report["run_id"])]
        if len(run_ids) != 2:
            problems.append(f"pair {n}: run ids {run_ids} (two reports must be two runs)")
    return made, problems


def main(argv: list[str] | None = None) -> int:
    pairs = int(argv[0]) if argv else 2
    made, problems = concurrent(Path(tempfile.mkdtemp(prefix="slipway-conc-")), pairs)
    for p in problems:
        print(f"  PROBLEM {p}")
    print(f"RESULT concurrent runs={made} collisions={len(problems)}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
