"""The config fuzzer's fixed budget in the suite (issue 11, item 2): structure-aware
pipeline.yaml cases (wrong types, unknown keys, deep nesting, odd unicode, aliases,
huge numbers, cyclic needs, mangled text) into ``plan`` in-process; every case must
end in a plan (exit 0) or a clear error (exit 2), never main()'s "internal error".

The 10,000-case run with the slowest case is ``PYTHONPATH=tests python -m trust.fuzz``
(``scripts/trust``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from trust.fuzz import ALIAS_SNIPPETS, Case, Tally, cases, fuzz_settings, run_case

import pipeline.config.loader as loader

BUDGET = 150  # cases, derandomized: the same ones on every run, a few seconds


@pytest.fixture(autouse=True)
def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SHA", "f" * 40)
    monkeypatch.setenv("BRANCH", "fuzz")


def test_fuzzed_configs_never_crash_plan(tmp_path: Path) -> None:
    tally = Tally()

    @fuzz_settings(BUDGET, derandomize=True)
    @given(cases())
    def one(case: Case) -> None:
        crash = run_case(case, tmp_path, tally)
        assert crash is None, f"{crash}\nargs: {case.argv}\n{case.text[:2000]!r}"

    one()
    assert tally.tried >= BUDGET
    # Both outcomes are reached: the cases are neither all broken nor all valid.
    assert tally.planned > 0 and tally.refused > 0, tally


@pytest.mark.parametrize("snippet", ALIAS_SNIPPETS, ids=range(len(ALIAS_SNIPPETS)))
def test_each_hostile_snippet_is_refused_or_planned(tmp_path: Path, snippet: str) -> None:
    good = b"version: 1\nproject:\n  name: x\nstages:\n- name: a\n  kind: command\n  commands: [[echo]]\n"
    tally = Tally()
    assert run_case(Case(good + snippet.encode(), ("--format", "json")), tmp_path, tally) is None
    assert tally.tried == 1 and tally.planned + tally.refused == 1


def test_a_crash_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tally can fail: a bug inside plan (here, an injected one) is a traceback."""
    def broken(*_: object, **__: object) -> None:
        raise KeyError("injected")

    monkeypatch.setattr(loader, "load_yaml", broken)
    tally = Tally()
    crash = run_case(Case(b"version: 1\n", ()), tmp_path, tally)
    assert crash is not None and tally.tracebacks == [crash]
