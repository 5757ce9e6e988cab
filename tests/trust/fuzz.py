"""A structure-aware fuzzer of pipeline.yaml: configs into ``plan``, in-process.

Each case starts from a valid pipeline (every section, every stage kind, needs
between the stages), then mutates it the ways people and tools get it wrong:
wrong types in the right places, unknown keys, deep nesting, odd unicode,
aliases (shared values, bombs, recursion), huge numbers, cyclic needs, and text
mutations (truncation, stray bytes, byte-order marks, tabs). The case runs
``python -m pipeline plan`` through ``commands.cli.main`` in this process, with
the CLI's own arguments fuzzed too (--format, --only, --skip, --shard).

A case is fine when ``plan`` exits 0 (a plan) or 2 (a clear error); exit 1 from
``plan`` is always main()'s "internal error", a traceback. The suite runs a
fixed, derandomized budget (``tests/unit/test_config_fuzz.py``); ``main`` runs
10,000 cases and prints the count of tracebacks and the slowest case.

    PYTHONPATH=tests .venv/bin/python -m trust.fuzz --cases 10000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from pipeline.commands.cli import main as cli_main

# ----------------------------------------------------------------------------------
# values

ODD_STRINGS = [
    "",
    " ",
    "\t",
    "\u202e\u0645\u0631\u062d\u0628\u0627",  # right-to-left override, Arabic
    "\u200b\u200d\ufeff",  # zero-width characters, a BOM inside
    "\U0001f680\U0001f9ea",  # astral plane
    "e\u0301",  # combining accent
    "\u01c5",  # title-case digraph
    "a\x00b",
    "\x1b[31mred",
    "${X}",
    "${UNSET}",
    "${X:-default}",
    "${",
    "${GIT_SHA}",
    "${REGISTRY_PASSWORD}",
    "*anchor",
    "&a",
    "- item",
    "key: value",
    "#comment",
    "on",
    "null",
    "~",
    "0x1F",
    "1e400",
    ".nan",
    "AKIAABCDEFGHIJKLMNOP",  # looks like an AWS key
    "-----BEGIN RSA PRIVATE KEY-----",
    "../../etc/passwd",
    "/",
    "C:\\Windows",
    "x" * 300,
]

texts = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
)
_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
# A stage/project name (NAME_PATTERN); built from two draws, which is far cheaper than from_regex.
names = st.builds(lambda a, b: a + b, st.sampled_from(_LOWER), st.text(_LOWER + "_.-", max_size=12))
upper_names = st.builds(
    lambda a, b: a + b, st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), st.text("ABCDEFGHIJ0123_", max_size=8)
)
huge_numbers = st.sampled_from(
    [2**31, 2**63, -(2**63) - 1, 10**100, 10**4000, float("inf"), float("-inf"), float("nan"), 1e308, -0.0]
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), huge_numbers, texts, names)
any_value = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts | names, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# ----------------------------------------------------------------------------------
# a valid pipeline


@st.composite
def valid_pipeline(draw: st.DrawFn) -> dict[str, Any]:
    stage_names = draw(st.lists(names, min_size=1, max_size=7, unique=True))
    services = draw(st.lists(names, max_size=3, unique=True))
    secrets = draw(st.lists(upper_names, max_size=3, unique=True))
    stages = []
    for i, name in enumerate(stage_names):
        earlier = stage_names[:i]
        needs = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        stages.append(draw(stage(name, needs, services, secrets)))
    config: dict[str, Any] = {
        "version": 1,
        "project": {"name": draw(names), "root": draw(st.sampled_from([".", "app", "src/x"]))},
        "stages": stages,
    }
    if draw(st.booleans()):
        config["variables"] = draw(st.dictionaries(upper_names, texts, max_size=3))
    if secrets:
        config["secrets"] = secrets
    if services:
        config["services"] = {
            s: {
                "image": draw(st.sampled_from(["postgres:15", "redis:7", "x"])),
                "port": draw(st.integers(1, 65535)),
                "env": draw(st.dictionaries(names, texts, max_size=2)),
            }
            for s in services
        }
    if draw(st.booleans()):
        config["images"] = {
            "aliases": draw(st.dictionaries(names, names, max_size=2)),
            "test_base": {"dockerfile": "Dockerfile.test", "key_files": ["uv.lock"]},
        }
    if draw(st.booleans()):
        config["registry"] = {"url": "localhost:5000", "insecure": draw(st.booleans())}
    if draw(st.booleans()):
        config["cache"] = {"enabled": draw(st.booleans()), "s3_bucket": draw(st.none() | names)}
    return config


def stage(name: str, needs: list[str], services: list[str], secrets: list[str]) -> st.SearchStrategy[Any]:
    common: dict[str, Any] = {"name": st.just(name), "needs": st.just(needs)}
    optional: dict[str, Any] = {
        "group": names,
        "secrets": st.lists(st.sampled_from(secrets), unique=True) if secrets else st.just([]),
        "env": st.dictionaries(upper_names, texts, max_size=2),
        "timeout_s": st.floats(0.1, 1e6),
    }
    memory = st.sampled_from(["64m", "1g", "1.5g", "512MiB", "6m"])
    with_services = (
        {"services": st.lists(st.sampled_from(services), unique=True)} if services else {}
    )
    kinds = {
        "pytest": (
            {"kind": st.just("pytest")},
            {
                "paths": st.lists(names, max_size=2),
                "shards": st.integers(1, 8),
                "workers": st.one_of(st.integers(1, 8), st.just("auto")),
                "markers": names,
                **with_services,
                "coverage": st.fixed_dictionaries({"source": st.lists(names, max_size=2)}),
                "reruns": st.integers(0, 3),
                "memory": memory,
            },
        ),
        "command": (
            {
                "kind": st.just("command"),
                "image": st.sampled_from(["python:3.11-slim", "node:20-slim"]),
                "commands": st.lists(st.lists(texts, min_size=1, max_size=3), min_size=1, max_size=3),
            },
            {"outputs": st.lists(texts, max_size=2), "memory": memory, **with_services},
        ),
        "build": ({"kind": st.just("build"), "targets": st.lists(names, min_size=1, max_size=2)}, {}),
        "scan": (
            {
                "kind": st.just("scan"),
                "scanners": st.lists(
                    st.sampled_from(["hadolint", "bandit", "pip-audit", "npm-audit"]), min_size=1, unique=True
                ),
            },
            {"paths": st.lists(texts, max_size=2)},
        ),
        "deploy": (
            {"kind": st.just("deploy"), "environment": names},
            {
                "target": st.sampled_from(["docker", "command", "check"]),
                "images": st.lists(names, max_size=2),
                "port": st.integers(1, 65535),
                "health": st.fixed_dictionaries({"http": st.just("http://127.0.0.1:1/health")}),
            },
        ),
    }
    return st.sampled_from(sorted(kinds)).flatmap(
        lambda k: st.fixed_dictionaries({**common, **kinds[k][0]}, optional={**optional, **kinds[k][1]})
    )


# ----------------------------------------------------------------------------------
# mutations of the data


def _slots(data: Any, out: list[tuple[Any, Any]], seen: set[int] | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``data``: the places a mutation can change (a shared
    object, which may by now contain itself, is walked once)."""
    seen = set() if seen is None else seen
    if id(data) in seen:
        return out
    seen.add(id(data))
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((data, key))
            _slots(value, out, seen)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((data, i))
            _slots(value, out, seen)
    return out


@st.composite
def mutated(draw: st.DrawFn, config: dict[str, Any]) -> dict[str, Any]:
    for _ in range(draw(st.integers(0, 4))):
        slots = _slots(config, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        op = draw(st.sampled_from(["wrong", "unknown", "deep", "share", "huge", "cycle", "delete", "unicode"]))
        if op == "wrong":
            container[key] = draw(any_value)
        elif op == "unknown" and isinstance(container, dict):
            container[draw(texts | names)] = draw(any_value)
        elif op == "deep":
            container[key] = nested(draw(st.integers(1, 120)), container[key])
        elif op == "share":  # the same object twice: yaml.safe_dump writes an anchor and an alias
            other, other_key = slots[draw(st.integers(0, len(slots) - 1))]
            with contextlib.suppress(TypeError, IndexError, KeyError):
                other[other_key] = container[key]
        elif op == "huge":
            container[key] = draw(huge_numbers)
        elif op == "cycle":
            _add_cycle(config, draw)
        elif op == "delete" and isinstance(container, dict):
            container.pop(key, None)
        elif op == "unicode":
            container[key] = draw(texts)
    return config


def _add_cycle(config: dict[str, Any], draw: st.DrawFn) -> None:
    listed = config.get("stages")
    stages = [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []
    stages = [s for s in stages if isinstance(s.get("name"), str)]
    if not stages:
        return
    ring = draw(st.lists(st.sampled_from(stages), min_size=1, max_size=4))
    for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
        if isinstance(a.get("needs"), list):
            a["needs"] = [*a["needs"], b["name"]]
        else:
            a["needs"] = [b["name"]]


# ----------------------------------------------------------------------------------
# the YAML text and mutations of it


def dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (ValueError, RecursionError, yaml.YAMLError):
        # A value PyYAML cannot write (an int past Python's digit limit, a shared
        # object inside itself): the text mutations below still make a case of it.
        return yaml.safe_dump({"project": {"name": "x"}, "stages": []})


ALIAS_SNIPPETS = [
    "a0: &a0 [x,x,x,x,x,x,x,x,x]\na1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]\n"
    "a2: &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]\na3: &a3 [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2]\n"
    "a4: &a4 [*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3]\na5: &a5 [*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4]\n",
    "rec: &r [1, *r]\n",
    "rec2: &m {a: *m}\n",
    "undefined: *nope\n",
    "dup: &d 1\ndup2: &d 2\n",
    "<<: {project: {name: merged}}\n",
    "big: " + "9" * 5000 + "\n",
    "long: " + "y" * 70_000 + "\n",
    "tagged: !!python/object/apply:os.system [echo hi]\n",
    "set: !!set {a, b}\n",
    "bin: !!binary aGVsbG8=\n",
    "when: 2001-12-14t21:59:43.10-05:00\n",
    "? [complex, key]\n: 1\n",
    "---\nsecond: document\n",
    "deep: " + "[" * 200 + "]" * 200 + "\n",
]


@st.composite
def text_mutated(draw: st.DrawFn, text: str) -> bytes:
    raw = text.encode("utf-8")
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["none", "truncate", "insert", "byte", "bom", "snippet", "tab", "indent"]))
        at = draw(st.integers(0, len(raw)))
        if op == "truncate":
            raw = raw[:at]
        elif op == "insert":
            raw = raw[:at] + draw(texts).encode("utf-8") + raw[at:]
        elif op == "byte":
            raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
        elif op == "bom":
            raw = draw(st.sampled_from(["\ufeff".encode(), b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"])) + raw
        elif op == "snippet":
            raw = raw + b"\n" + draw(st.sampled_from(ALIAS_SNIPPETS)).encode()
        elif op == "tab":
            raw = raw.replace(b"  ", b"\t", 1)
        elif op == "indent":
            raw = raw.replace(b"\n", b"\n ", draw(st.integers(1, 3)))
    return raw


@dataclass(frozen=True, slots=True)
class Case:
    text: bytes
    argv: tuple[str, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    config = draw(mutated(draw(valid_pipeline())))
    raw = draw(text_mutated(dump(config)))
    stages = config.get("stages")
    stage_names = [s.get("name") for s in stages if isinstance(s, dict)] if isinstance(stages, list) else []
    selectors = st.sampled_from([n for n in stage_names if isinstance(n, str)] or ["x"]) | texts
    argv: list[str] = ["--format", draw(st.sampled_from(["text", "json", "mermaid"]))]
    if draw(st.booleans()):
        argv += ["--only", draw(selectors)]
    if draw(st.booleans()):
        argv += ["--skip", draw(selectors)]
    if draw(st.booleans()):
        argv += ["--no-needs"]
    if draw(st.booleans()):
        argv += ["--shard", draw(st.sampled_from(["1/2", "2/2", "0/0", "3/2", "x", "1/1000000", "-1/2"]))]
    return Case(raw, tuple(argv))


# ----------------------------------------------------------------------------------
# running cases


SLOWEST_KEPT = 5


@dataclass(slots=True)
class Tally:
    tried: int = 0
    planned: int = 0  # exit 0
    refused: int = 0  # exit 2, a clear error
    tracebacks: list[str] = field(default_factory=list)
    slowest: list[tuple[float, Case]] = field(default_factory=list)  # the few slowest, slowest first

    def timed(self, took: float, case: Case) -> None:
        if len(self.slowest) < SLOWEST_KEPT or took > self.slowest[-1][0]:
            self.slowest = sorted([*self.slowest, (took, case)], key=lambda t: -t[0])[:SLOWEST_KEPT]


def run_case(case: Case, workdir: Path, tally: Tally, crashes: Path | None = None) -> str | None:
    """``plan`` on one case; the traceback's first line if it crashed, else None."""
    path = workdir / "pipeline.yaml"
    path.write_bytes(case.text)
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = cli_main(["plan", "--config", str(path), *case.argv])
    except BaseException as exc:  # main() must never let anything out: count it
        code, stderr = -1, io.StringIO(f"escaped main(): {type(exc).__name__}: {exc}")
    took = time.perf_counter() - started
    tally.tried += 1
    tally.timed(took, case)
    if code == 0:
        tally.planned += 1
        return None
    if code == 2 and "internal error" not in stderr.getvalue():
        tally.refused += 1
        return None
    crash = stderr.getvalue().strip().splitlines()[:1] or [f"exit {code}"]
    tally.tracebacks.append(crash[0])
    if crashes is not None:  # the case, to reproduce: python -m pipeline plan --config FILE ARGS
        crashes.mkdir(parents=True, exist_ok=True)
        (crashes / f"crash-{len(tally.tracebacks)}.yaml").write_bytes(case.text)
        (crashes / f"crash-{len(tally.tracebacks)}.args").write_text(" ".join(case.argv) + "\n" + stderr.getvalue())
    return crash[0]


def fuzz_settings(cases_n: int, *, derandomize: bool) -> Callable[[Any], Any]:
    return settings(
        max_examples=cases_n,
        derandomize=derandomize,
        deadline=None,
        database=None,
        # In the count mode nothing is shrunk: every case runs once and is tallied.
        phases=[Phase.generate] if not derandomize else list(Phase),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def fuzz(cases_n: int, workdir: Path, *, random_seed: int = 11, crashes: Path | None = None) -> Tally:
    """Run ``cases_n`` generated cases, tallying tracebacks (the count mode of ``main``)."""
    tally = Tally()

    @seed(random_seed)
    @fuzz_settings(cases_n, derandomize=False)
    @given(cases())
    def one(case: Case) -> None:
        run_case(case, workdir, tally, crashes)

    one()
    return tally


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float  # in-process, best of three (what the case costs, not the machine's hiccup)
    rss_mb: float  # peak memory of `python -m pipeline plan` on it, a process of its own
    case: Case


def remeasure(case: Case, workdir: Path) -> Measured:
    """A slow case again: timed in-process (best of three) and run as the real CLI
    in its own process, whose peak memory wait4 reports."""
    times = []
    for _ in range(3):
        tally = Tally()
        run_case(case, workdir, tally)
        times.append(tally.slowest[0][0])
    if any("\0" in arg for arg in case.argv):
        # A fuzzed argument with a NUL byte is fine in-process but no process can get it.
        return Measured(min(times), math.nan, case)
    path = workdir / "slow.yaml"
    path.write_bytes(case.text)
    # A child forked from this process (grown by thousands of cases) counts our pages
    # in its peak until it execs: a fresh small interpreter starts the CLI and reports
    # its child's peak alone (RUSAGE_CHILDREN).
    measure = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "pipeline", "plan", "--config", str(path), *case.argv],
        capture_output=True, text=True, check=True,
    )
    return Measured(min(times), int(out.stdout.strip()) / 1024, case)


def isolated_env() -> contextlib.AbstractContextManager[Path]:
    """A scratch directory, with GIT_SHA/BRANCH set so ``plan`` never runs git."""
    os.environ.setdefault("GIT_SHA", "f" * 40)
    os.environ.setdefault("BRANCH", "fuzz")
    return contextlib.nullcontext(Path(tempfile.mkdtemp(prefix="slipway-fuzz-")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--crashes", type=Path, help="Write each crashing case here.")
    args = parser.parse_args(argv)
    with isolated_env() as workdir:
        started = time.monotonic()
        tally = fuzz(args.cases, workdir, random_seed=args.seed, crashes=args.crashes)
        took = time.monotonic() - started
        slow = [remeasure(case, workdir) for _, case in tally.slowest]
    worst = max(slow, key=lambda m: m.seconds, default=None)
    heaviest = max((m.rss_mb for m in slow if not math.isnan(m.rss_mb)), default=0.0)
    print(f"fuzzed configs: {tally.tried} tried in {took:.0f} s")
    print(f"  plans: {tally.planned}   clear errors (exit 2): {tally.refused}")
    print(f"  tracebacks: {len(tally.tracebacks)}")
    for line in sorted(set(tally.tracebacks))[:20]:
        print(f"    {line}")
    if worst is not None:
        print(
            f"  slowest case: {worst.seconds:.3f} s in-process (best of 3); the {len(slow)} slowest "
            f"as `python -m pipeline plan`: at most {heaviest:.0f} MB peak"
        )
        for m in slow:
            print(f"    {m.seconds:.3f} s  {m.rss_mb:.0f} MB  argv: {' '.join(m.case.argv)}  {m.case.text[:60]!r}")
        if args.crashes is not None:
            args.crashes.mkdir(parents=True, exist_ok=True)
            (args.crashes / "slowest.yaml").write_bytes(worst.case.text)
    print(f"RESULT fuzz tried={tally.tried} tracebacks={len(tally.tracebacks)} "
          f"slowest_s={worst.seconds if worst else 0:.3f} slowest_mb={heaviest:.0f}")
    return 1 if tally.tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
