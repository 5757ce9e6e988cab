"""Benchmark: the example's test stage on Dagger and on Docker, side by side in one run.

Each round runs ``python -m pipeline run --only tests --no-cache`` once with
``--engine docker`` and once with ``--engine dagger`` (Slipway's own engine, found by
its container as a run finds it), alternating which goes first so that neither always
gets the warmer machine. ``--no-cache`` keeps Slipway's job cache out of it, and on
Dagger the test jobs carry a per-run nonce, so both engines really run every test; the
test image and the service images are built or pulled once in a warm-up round that is
not timed. Each run is timed from start to end (session, containers and services
included). Prints a table of medians and the Dagger/Docker ratio, with the load average.

    flock /tmp/slipway-suite.lock .venv/bin/python bench/dagger_vs_docker.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINES = ("docker", "dagger")


def run_tests(engine: str, config: Path, out: Path, cache_dir: Path) -> tuple[float, int, list[str]]:
    """One timed ``run --only tests --no-cache`` on ``engine``: seconds, tests passed, jobs."""
    argv = [sys.executable, "-m", "pipeline", "run", "--config", str(config), "--only", "tests"]
    argv += ["--no-cache", "--engine", engine, "--report-dir", str(out)]
    env = {**os.environ, "SLIPWAY_CACHE_DIR": str(cache_dir)}
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=config.parent)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        raise SystemExit(f"{engine} run failed ({proc.returncode}):\n{tail}")
    report = json.loads((out / "report.json").read_text())
    if report.get("engine") != engine:
        raise SystemExit(f"asked for {engine}, the report says {report.get('engine')}")
    return seconds, int(report["tests"]["passed"]), sorted(j["name"] for j in report["jobs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "pipeline.yaml")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-warmup", action="store_true", help="time the first runs too")
    args = parser.parse_args()
    config = args.config.resolve()
    times: dict[str, list[float]] = {e: [] for e in ENGINES}
    counts: dict[str, int] = {}
    jobs: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="slipway-bench-dagger-") as tmp:
        base = Path(tmp)
        if not args.no_warmup:
            for engine in ENGINES:
                run_tests(engine, config, base / f"warmup-{engine}", base / "cache")
        for round_no in range(args.rounds):
            order = ENGINES if round_no % 2 == 0 else ENGINES[::-1]
            for engine in order:
                out = base / f"round{round_no}-{engine}"
                seconds, counts[engine], jobs[engine] = run_tests(engine, config, out, base / "cache")
                times[engine].append(seconds)
    if jobs["docker"] != jobs["dagger"] or counts["docker"] != counts["dagger"]:
        raise SystemExit(f"the engines ran different work: {jobs} {counts}")
    load = os.getloadavg()
    docker = statistics.median(times["docker"])
    print(
        f"example test stage (--only tests --no-cache), {os.cpu_count()} CPUs, load "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, median of {args.rounds} round(s)"
    )
    print(f"{'engine':<8} {'jobs':>5} {'tests':>6} {'seconds':>9} {'vs docker':>10}  rounds")
    for engine in ENGINES:
        med = statistics.median(times[engine])
        each = " ".join(f"{t:.1f}" for t in times[engine])
        row = f"{engine:<8} {len(jobs[engine]):>5} {counts[engine]:>6} {med:>9.1f} {med / docker:>9.2f}x"
        print(f"{row}  {each}")
    print(f"jobs: {', '.join(jobs['docker'])}")


if __name__ == "__main__":
    main()
