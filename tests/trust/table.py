"""Runs every trust driver (issue 11, items 2-6) and prints one table, each row
against its goal; ``--write FILE`` saves it (docs/trust.md). Each driver runs as a
process of its own and ends with ``RESULT`` lines, which are what the table reads.

    scripts/trust [--fuzz-cases 10000] [--interrupts 20] [--pairs 2] [--write docs/trust.md]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _start(module: str, *args: str) -> tuple[subprocess.Popen[str], float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    proc = subprocess.Popen(
        [sys.executable, "-m", f"trust.{module}", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, time.monotonic()


def _run(module: str, *args: str, started: tuple[subprocess.Popen[str], float] | None = None) -> tuple[int, list[str], float]:
    proc, t0 = started or _start(module, *args)
    stdout, stderr = proc.communicate()
    lines = stdout.splitlines()
    sys.stderr.write("\n".join(line for line in lines if line.startswith(("RESULT", "  PROBLEM", "    FOUND"))) + "\n")
    if proc.returncode not in (0, 1):
        lines.append(f"RESULT {module} crashed (exit {proc.returncode}): {stderr.strip()[-300:]}")
    return proc.returncode, [line for line in lines if line.startswith("RESULT")], time.monotonic() - t0


def _fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", line))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fuzz-cases", type=int, default=10_000)
    parser.add_argument("--interrupts", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, str, bool]] = []  # what, measured, goal, at goal

    # The fuzzer is CPU only (plan in-process): it runs beside the Docker drivers, and
    # its timing figures come from its slowest cases re-run best of three.
    fuzzing = _start("fuzz", "--cases", str(args.fuzz_cases))

    code, res, took = _run("interrupts", "--trials", str(args.interrupts))
    f = _fields(res[-1]) if res else {}
    rows.append(("interrupts (SIGINT/SIGTERM alternating)",
                 f"{f.get('tried', '?')} tried: exit 130 {f.get('exit130', '?')}, reports 'interrupted' "
                 f"{f.get('reports', '?')}, leftovers {f.get('leftovers', '?')}, next run green "
                 f"{f.get('next_green', '?')} ({took:.0f} s)",
                 "all exit 130 + report, 0 leftovers, next run green", code == 0))

    code, res, took = _run("faults")
    for line in res:
        m = re.match(r"RESULT fault (\S+): (OK|FAIL) (.*)", line)
        if m:
            rows.append((f"fault: {m[1]}", m[3], _FAULT_GOALS.get(m[1], "clear outcome, report"), m[2] == "OK"))
        else:
            rows.append(("faults", line, "clear outcome, report", False))

    code, res, took = _run("concurrent", str(args.pairs))
    f = _fields(res[-1]) if res else {}
    rows.append(("concurrent runs (pairs at once, shared cache)",
                 f"{f.get('runs', '?')} runs, {f.get('collisions', '?')} collisions ({took:.0f} s)",
                 "0 collisions, both reports right", code == 0))

    code, res, took = _run("scan")
    f = _fields(res[-1]) if res else {}
    rows.append(("secrets (green + failing run)",
                 f"{f.get('looked_at', '?')} places looked at, {f.get('found', '?')} found ({took:.0f} s)",
                 "0 found", code == 0))

    code, res, took = _run("fuzz", started=fuzzing)
    f = _fields(res[-1]) if res else {}
    rows.insert(0, ("fuzzed configs (plan in-process)",
                 f"{f.get('tried', '?')} tried, {f.get('tracebacks', '?')} tracebacks, slowest "
                 f"{f.get('slowest_s', '?')} s / {f.get('slowest_mb', '?')} MB peak ({took:.0f} s)",
                 "0 tracebacks, slowest < 1 s and < 200 MB",
                 code == 0 and float(f.get("slowest_s", 9)) < 1 and float(f.get("slowest_mb", 999)) < 200))

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = [f"Slipway trust table, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
             f"load {load}", "", "| check | measured | goal | at goal |", "|---|---|---|---|"]
    table += [f"| {w} | {m} | {g} | {'yes' if ok else 'NO'} |" for w, m, g, ok in rows]
    text = "\n".join(table) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0 if all(ok for *_, ok in rows) else 1


_FAULT_GOALS = {
    "s3-down": "green, report written, the outage said in a warning",
    "s3-dies": "green, report written, the outage said in a warning",
    "service-killed": "that job fails naming the service, others go on, report written, nothing left",
    "daemon-stopped": "exit 2 with one error line, report written",
    "oom-killed": "that job fails saying OOM and its limit, others go on, report written, nothing left",
    "registry-down": "that job fails with one line naming the registry, no traceback, report written, exit 1",
    "disk-full": "that job fails naming the path and 'no space left', no half output, report written, nothing left",
    "report-dir-full": "exit 1 with one line naming the directory, no traceback, nothing left",
    "report-dir-fills": "exit 1 with one line, no traceback, no half report, nothing left",
}

if __name__ == "__main__":
    sys.exit(main())
