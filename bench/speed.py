"""Bench: the test stage's speed on the generated workload, side by side in one run.

Lines, each timed from start to end on the same machine and engine, one after another:

1. sequential: the suite in one container, no xdist (``handtuned.py``);
2. hand-tuned: one container, ``pytest -n <cores> --dist worksteal``, a database per
   worker made by hand (``handtuned.py``) -- the line every ratio is against;
3. Slipway cold: ``pipeline run --no-cache`` (a full run; it leaves the impact record);
4. Slipway, nothing changed: the job cache answers;
5. Slipway, one module changed (``mutate.py --change``): the job cache misses, impact
   analysis reruns what the change can reach;
6. Slipway as 4 shards (``shards: 4``, ``--shard i/4`` run one after another, as four
   runners would each run alone): the longest shard and the sum.

Prints a Markdown table (seconds, ratio to hand-tuned, tests that ran) and the
machine's load; ``--write FILE`` keeps it. Run it under the shared lock::

    flock /tmp/slipway-suite.lock .venv/bin/python bench/speed.py --tests 3000 --write docs/bench-speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.workload import generate, handtuned, mutate  # noqa: E402  after the path above


def slipway(project: Path, out: Path, cache_dir: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    """One ``pipeline run`` of the project's test stages; (wall seconds, report.json)."""
    argv = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--config",
        str(project / "pipeline.yaml"),
        "--engine",
        "docker",
        "--report-dir",
        str(out),
        *extra,
    ]
    # BRANCH: not a full_on branch, so impact analysis may leave tests out.
    env = {**os.environ, "SLIPWAY_CACHE_DIR": str(cache_dir), "BRANCH": "bench"}
    env.pop("SLIPWAY_FULL_TESTS", None)
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=REPO)
    seconds = time.monotonic() - start
    report_path = out / "report.json"
    if not report_path.is_file():
        raise SystemExit(f"slipway run wrote no report ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(report_path.read_text())
    if proc.returncode != 0:
        print(
            f"warning: slipway run exited {proc.returncode} ({out}):\n{proc.stderr[-2000:]}", file=sys.stderr
        )
    report["_bench_exit"] = proc.returncode
    return seconds, report


START = time.monotonic()


def say(text: str) -> None:
    """A line on stderr as the bench goes: clock, minutes since start, the load."""
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    print(
        f"[{stamp} +{(time.monotonic() - START) / 60:.1f} min, load {handtuned.loadavg()}] {text}",
        file=sys.stderr,
        flush=True,
    )


def write_table(path: Path, text: str) -> None:
    """The table into ``path``: between the bench markers when it has them, else the whole file."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    old = path.read_text() if path.is_file() else ""
    if begin in old and end in old:
        head, _, rest = old.partition(begin)
        _, _, tail = rest.partition(end)
        path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
    else:
        path.write_text(text + "\n")


def tests_ran(report: dict[str, Any]) -> int:
    tests = report.get("tests") or {}
    return int(
        sum(
            v for k, v in tests.items() if k in ("passed", "failed", "errors", "error") and isinstance(v, int)
        )
    )


def configure(project: Path, shards: int = 1) -> None:
    """Impact analysis on for every test stage (and the shard count)."""
    path = project / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    for stage in doc["stages"]:
        if stage.get("kind") == "pytest":
            stage["impact"] = {"full_on": ["main"]}
            stage["shards"] = shards
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def fixed_costs(report: dict[str, Any]) -> str:
    costs = [j.get("phases", {}).get("fixed_cost") for j in report.get("jobs", [])]
    known = [c for c in costs if isinstance(c, int | float)]
    return f"{min(known):.1f}-{max(known):.1f} s" if known else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tests", type=int, default=generate.DEFAULT_TESTS)
    parser.add_argument("--workers", type=int, default=None, help="hand-tuned -n (default: the cores)")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (each run's report)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="slipway-speed-"))
    project, cache = work / "project", work / "cache"
    say(f"generating {args.tests} tests in {project}")
    generate.generate(project, args.tests, generate.DEFAULT_SEED)
    configure(project)
    load_before = handtuned.loadavg()
    rows: list[tuple[str, float, str, str]] = []

    def note_exit(report: dict[str, Any], note: str = "") -> str:
        code = report.get("_bench_exit")
        return note if not code else f"{note}; run exited {code}".lstrip("; ")

    def row(name: str, seconds: float, ran: str, note: str) -> None:
        rows.append((name, seconds, ran, f"{note}; load {handtuned.loadavg()}".lstrip("; ")))
        say(f"{name}: {seconds:.1f} s, {ran or '-'} tests {note}")

    for line in handtuned.run_lines(project, ("sequential", "handtuned"), workers=args.workers):
        ran = line.passed + line.failed + line.errors
        bad = (
            f"pytest exit {line.exit_code}, {line.failed} failed, {line.errors} errors"
            if (line.exit_code or line.failed or line.errors)
            else ""
        )
        row(f"{line.name} ({line.workers} workers)", line.wall_s, str(ran), bad)
    cold_s, cold = slipway(project, work / "cold", cache, "--no-cache")
    row("Slipway cold", cold_s, str(tests_ran(cold)), note_exit(cold, f"fixed cost/job {fixed_costs(cold)}"))
    same_s, same = slipway(project, work / "same", cache)
    row("Slipway, nothing changed", same_s, str(tests_ran(same)), note_exit(same))
    module = mutate.change_module(project)
    one_s, one = slipway(project, work / "one", cache)
    row(
        f"Slipway, one module changed ({module})",
        one_s,
        str(tests_ran(one)),
        note_exit(one, f"fixed cost/job {fixed_costs(one)}"),
    )
    mutate.unchange_module(project, module)
    configure(project, shards=4)
    # Four CI runners start from one checkout and one set of stored durations. Run one
    # after another on one project, each shard's run would store its durations and move
    # the split under the next one: tests ran twice or never (1,944 and 276 of the
    # 1,800 unit tests in two runs). Each shard gets its own copy of the same state.
    frozen = work / "shards-project"
    shutil.copytree(project, frozen, symlinks=True)
    shard_s, shard_tests = [], 0
    for i in range(1, 5):
        copy = work / f"shard{i}-project"
        shutil.copytree(frozen, copy, symlinks=True)
        seconds, shard = slipway(
            copy, work / f"shard{i}", work / f"cache-shard{i}", "--no-cache", "--shard", f"{i}/4"
        )
        shard_s.append(seconds)
        shard_tests += tests_ran(shard)
        say(f"shard {i}/4: {seconds:.1f} s, {tests_ran(shard)} tests {note_exit(shard)}")
    longest = max(shard_s)
    rows.append(("Slipway 4 shards: longest", longest, "", f"vs cold {longest / cold_s:.2f}x"))
    rows.append(("Slipway 4 shards: sum", sum(shard_s), str(shard_tests), ""))
    hand = rows[1][1]
    table = [
        f"Workload: {args.tests} tests (bench/workload, seed {generate.DEFAULT_SEED}); "
        f"{handtuned.machine_cores()} cores; load before {load_before}, after {handtuned.loadavg()}",
        "",
        "| line | wall s | vs hand-tuned | tests run | note |",
        "|---|---:|---:|---:|---|",
        *(f"| {name} | {s:.1f} | {s / hand:.2f}x | {ran} | {note} |" for name, s, ran, note in rows),
    ]
    text = "\n".join(table)
    print(text)
    if args.write:
        write_table(args.write, text)
    if args.keep:
        say(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
