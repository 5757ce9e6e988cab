"""Benchmark: the example's whole backend suite three ways, side by side in one run.

1. sequential: every test in one container, no xdist (what most CIs do);
2. ``-n auto``: one container, xdist with its own worker count (ignores quotas);
3. Slipway: ``python -m pipeline run --only tests`` (groups in parallel containers,
   worker budget, per-worker databases), job cache off;
4. the same Slipway run again with nothing changed: the job cache answers (what a
   re-run of CI on an unchanged backend costs).

All three run on the same engine, image and PostgreSQL image, and each is timed
from start to end (containers and services included). Prints a table of times
and ratios to the sequential run. Usage:

    .venv/bin/python bench/tests_bench.py [--rounds N] [--config pipeline.yaml]
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
from dataclasses import replace
from pathlib import Path

import anyio

from pipeline.config import load_config
from pipeline.config.model import PytestStage
from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.model.secrets import Redactor
from pipeline.plan import Job
from pipeline.stages.base import JobContext, PipelineRun, RunOptions
from pipeline.stages.pytest import container as pytest_stage
from pipeline.stages.pytest import junit
from pipeline.stages.pytest.image import ensure_test_image
from pipeline.testing.cpus import available_cpus

REPO = Path(__file__).resolve().parents[1]


def one_container_stage(config_path: Path) -> tuple[PytestStage, list[str]]:
    """A single pytest stage over every group's paths, with the database settings."""
    config = load_config(config_path)
    stages = [s for s in config.model.stages if isinstance(s, PytestStage)]
    with_db = next(s for s in stages if s.database is not None)
    paths = [p for s in stages for p in s.paths]
    stage = with_db.model_copy(update={"name": "bench-all", "paths": tuple(paths)})
    return stage, paths


async def run_one_container(config_path: Path, workers: str, out: Path) -> tuple[float, int]:
    config = load_config(config_path)
    stage, paths = one_container_stage(config_path)
    job = Job(name=f"bench-{workers}", stage=stage.name, kind="pytest")
    redactor = Redactor()
    engine = DockerEngine(
        RunContext(run_id=f"bench-{int(time.time())}", redactor=redactor),
        aliases=dict(config.model.images.aliases),
        ca_bundle=config.ca_bundle(),
    )
    run = PipelineRun(
        config=config,
        engine=engine,
        run_id="bench",
        report_dir=out,
        redactor=redactor,
        options=RunOptions(total_cpus=available_cpus()),
        jobs=(job,),
    )
    ctx = JobContext(run=run, job=job, stage=stage)
    try:
        image = await ensure_test_image(ctx)
        spec = pytest_stage.spec(ctx, image=image, select=paths)
        argv = ["python", "-m", "pytest", *pytest_stage.pytest_args(ctx, workers=0, select=paths)]
        if workers == "auto":
            at = argv.index("-n")
            argv[at : at + 2] = ["-n", "auto"]
        spec = replace(spec, commands=(spec.commands[0], tuple(argv)), limits=replace(spec.limits, cpus=None))
        start = time.monotonic()
        result = await engine.run(spec, log_path=out / f"{job.name}.log", output_dir=out / job.name)
        seconds = time.monotonic() - start
    finally:
        await engine.aclose()
    junit_path = out / job.name / "slipway" / "out" / "junit.xml"
    tests = junit.totals(junit.results(junit_path)).passed if junit_path.is_file() else 0
    if result.exit_code != 0:
        raise SystemExit(f"{job.name} failed (exit {result.exit_code}); see {out / (job.name + '.log')}")
    return seconds, tests


def run_slipway(config_path: Path, out: Path, *, cache: bool = False) -> tuple[float, int, str]:
    """One `run --only tests`; with ``cache`` the job cache may answer (nothing changed)."""
    start = time.monotonic()
    argv = [sys.executable, "-m", "pipeline", "run", "--config", str(config_path), "--only", "tests"]
    argv += [] if cache else ["--no-cache"]
    argv += ["--engine", "docker", "--report-dir", str(out)]
    # A private cache dir: the first (no-cache) run fills it, the cached run reads it.
    env = {**os.environ, "SLIPWAY_CACHE_DIR": str(out.parent.parent / "cache")}
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"slipway run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    workers = ", ".join(f"{j['name']}={j.get('workers')}" for j in report["jobs"])
    return seconds, int(report["tests"]["passed"]), workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "pipeline.yaml")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"sequential": [], "-n auto": [], "slipway": [], "cached": []}
    counts: dict[str, int] = {}
    note = ""
    with tempfile.TemporaryDirectory(prefix="slipway-bench-") as tmp:
        # Warm-up: the test base image and the service image's first start are not
        # what we measure; build once before timing anything.
        anyio.run(run_one_container, args.config, "0", Path(tmp) / "warmup")
        for round_no in range(args.rounds):
            base = Path(tmp) / f"round{round_no}"
            seconds, n = anyio.run(run_one_container, args.config, "0", base / "seq")
            times["sequential"].append(seconds)
            counts["sequential"] = n
            seconds, n = anyio.run(run_one_container, args.config, "auto", base / "auto")
            times["-n auto"].append(seconds)
            counts["-n auto"] = n
            seconds, n, note = run_slipway(args.config, base / "slipway")
            times["slipway"].append(seconds)
            counts["slipway"] = n
            seconds, n, _ = run_slipway(args.config, base / "slipway-again", cache=True)
            times["cached"].append(seconds)
            counts["cached"] = n
    seq = statistics.median(times["sequential"])
    print(f"backend suite of the example, {available_cpus()} CPUs, median of {args.rounds} round(s)")
    print(f"{'variant':<34} {'tests':>6} {'seconds':>9} {'vs sequential':>14}")
    labels = {
        "sequential": "sequential, one container",
        "-n auto": "pytest -n auto, one container",
        "slipway": "slipway (3 groups in parallel)",
        "cached": "slipway again, nothing changed",
    }
    for key, label in labels.items():
        med = statistics.median(times[key])
        print(f"{label:<34} {counts[key]:>6} {med:>9.1f} {seq / med:>13.2f}x")
    print(f"slipway workers: {note}")


if __name__ == "__main__":
    main()
