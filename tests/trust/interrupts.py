"""SIGINT and SIGTERM at random moments of a run (issue 11, item 3).

A green run is timed first; then each trial starts the run, sends the signal at a
random moment within it, and checks: exit 130, report.json written with status
``interrupted``, no container, network or volume of the run left, and the next run
green (the job cache not corrupted by the interrupted one).

    PYTHONPATH=tests .venv/bin/python -m trust.interrupts --trials 20
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from trust.common import client, finish, leftovers, make_project, run, start


@dataclass
class Tally:
    tried: int = 0
    exits_130: int = 0
    reports_interrupted: int = 0
    leftovers: list[str] = field(default_factory=list)
    next_green: int = 0
    problems: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)  # runs over before their moment: not trials


LATE_RETRIES = 3


def trial(project: Path, sig: signal.Signals, at: float, n: int, tally: Tally) -> float | None:
    """One run, signalled ``at`` seconds in and checked. None once done; the run's length
    instead when it ended before the moment (nothing was interrupted, nothing counted:
    the caller draws a moment within that shorter span and tries again)."""
    c = client()
    started = time.monotonic()
    proc = start(project, "--report-dir", f"int{n}")
    while time.monotonic() - started < at:  # the random moment itself is the point here
        if proc.poll() is not None:
            ended = time.monotonic() - started
            finish(proc, project / f"int{n}", started)
            return ended
        time.sleep(0.02)
    proc.send_signal(sig)
    res = finish(proc, project / f"int{n}", started, timeout=180)
    tally.tried += 1
    what = f"{sig.name} at {at:.1f} s"
    if res.code == 130:
        tally.exits_130 += 1
    else:
        tally.problems.append(f"{what}: exit {res.code}: {res.err.strip()[-300:]}")
    if res.report is not None and res.report.get("status") == "interrupted":
        tally.reports_interrupted += 1
        left = leftovers(c, res.report["run_id"])
        tally.leftovers += left
        if left:
            tally.problems.append(f"{what}: left {left}")
    else:
        tally.problems.append(f"{what}: report {None if res.report is None else res.report.get('status')}")
    again = run(project, f"next{n}")
    if again.code == 0 and again.report and again.report["status"] == "success":
        tally.next_green += 1
    else:
        tally.problems.append(f"{what}: next run exit {again.code}: {again.err.strip()[-300:]}")
    return None


def interrupts(trials: int, workdir: Path, seed: int = 11) -> tuple[Tally, float]:
    project = make_project(workdir)
    rng = random.Random(seed)
    green = run(project, "green")
    if green.code != 0:
        raise SystemExit(f"the pipeline is not green to begin with: {green.err}")
    # The span is timed on a second run with the job cache forgotten, as each trial runs:
    # the first run also builds what later runs reuse (the test image, the source
    # snapshot), so it is longer, and a signal "at 90% of it" would come after the end.
    _forget_cache(project)
    timed = run(project, "green-timed")
    if timed.code != 0:
        raise SystemExit(f"the pipeline is not green the second time: {timed.err}")
    span = timed.seconds
    tally = Tally()
    for n in range(trials):
        sig = signal.SIGINT if n % 2 == 0 else signal.SIGTERM
        for _ in range(LATE_RETRIES):
            # Spread over the run: trial n falls in its own slice of it, at a random point.
            at = max(span * (n + rng.random()) / trials * 0.9, 0.2)
            _forget_cache(project)
            ended = trial(project, sig, at, n, tally)
            if ended is None:
                break
            # Runs get quicker as the machine quiets down: the span shrinks to this one.
            tally.late.append(f"{sig.name} at {at:.1f} s: the run had ended after {ended:.1f} s; drawn again")
            span = min(span, ended)
        else:
            tally.problems.append(f"{sig.name}: {LATE_RETRIES} runs in a row ended before their moment")
    return tally, span


def _forget_cache(project: Path) -> None:
    """Each trial interrupts a cold run (a warm one is over before most moments)."""
    shutil.rmtree(project / ".cache-store", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    tally, span = interrupts(args.trials, Path(tempfile.mkdtemp(prefix="slipway-int-")), args.seed)
    print(f"interrupts: {tally.tried} tried over a {span:.0f} s run (SIGINT and SIGTERM alternating)")
    print(f"  exit 130: {tally.exits_130}  reports 'interrupted': {tally.reports_interrupted}  "
          f"leftovers: {len(tally.leftovers)}  next run green: {tally.next_green}")
    for p in tally.late:
        print(f"  not counted: {p}")
    for p in tally.problems:
        print(f"  PROBLEM {p}")
    ok = (not tally.problems and not tally.leftovers
          and tally.tried == tally.exits_130 == tally.reports_interrupted == tally.next_green)
    print(f"RESULT interrupts tried={tally.tried} exit130={tally.exits_130} "
          f"reports={tally.reports_interrupted} leftovers={len(tally.leftovers)} next_green={tally.next_green}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
