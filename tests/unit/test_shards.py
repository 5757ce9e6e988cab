from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.stages.pytest.shards import (
    estimates,
    imbalance,
    imbalance_of,
    merge_durations,
    parse_collected,
    read_durations,
    shard_times,
    split,
    write_durations,
    write_node_ids,
)

pytestmark = pytest.mark.unit


def test_longest_first_to_the_lightest_shard() -> None:
    durations = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0, "e": 2.0, "f": 1.0}
    shards = split(list(durations), durations, 2)
    # Loads after each step: a [5,0], b [5,4], c [5,7], d [8,7], e [8,9], f [9,9].
    assert shards == [["a", "d", "f"], ["b", "c", "e"]]
    assert shard_times(shards, durations) == [9.0, 9.0]


def test_shards_keep_collection_order_and_cover_every_test_once() -> None:
    tests = [f"t.py::test_{i}" for i in range(50)]
    durations = {t: float(i % 7 + 1) for i, t in enumerate(tests)}
    shards = split(tests, durations, 3)
    assert sorted(t for s in shards for t in s) == sorted(tests)
    for shard in shards:
        assert shard == sorted(shard, key=tests.index)


def test_split_is_deterministic_with_ties() -> None:
    tests = [f"t{i}" for i in range(20)]
    first = split(tests, {}, 4)
    assert first == split(list(tests), {}, 4)
    assert [len(s) for s in first] == [5, 5, 5, 5]


def test_unrecorded_tests_get_the_mean_of_the_known_ones() -> None:
    durations = {"a": 2.0, "b": 4.0, "gone": 100.0}
    assert estimates(["a", "b", "new"], durations) == {"a": 2.0, "b": 4.0, "new": 3.0}
    # Nothing of this group recorded: the whole record's mean, then 1 s.
    assert estimates(["x"], {"y": 6.0}) == {"x": 6.0}
    assert estimates(["x"], {}) == {"x": 1.0}


def test_more_shards_than_tests_and_bad_n() -> None:
    assert split(["a", "a", "b"], {}, 3) == [["a"], ["b"], []]
    with pytest.raises(ValueError, match="at least 1"):
        split(["a"], {}, 0)


def test_realistic_distribution_splits_4_ways_within_10_percent() -> None:
    rng = random.Random(20240501)
    tests = [f"tests/test_m{i // 20}.py::test_{i}" for i in range(400)]
    durations = {t: rng.lognormvariate(-1.0, 1.2) for t in tests}
    # A fifth of the tests are new since the record: they count at the mean.
    recorded = {t: d for t, d in durations.items() if rng.random() > 0.2}
    shards = split(tests, recorded, 4)
    assert imbalance(shards, recorded) <= 1.10
    # And judged by the true durations, not only the estimates used to split.
    true_times = [sum(durations[t] for t in s) for s in shards]
    assert imbalance_of(true_times) <= 1.10


def test_imbalance() -> None:
    assert imbalance([["a"], ["b"]], {"a": 3.0, "b": 1.0}) == 1.5
    assert imbalance_of([]) == 1.0
    assert imbalance_of([0.0, 0.0]) == 1.0


def test_merge_durations_later_records_win_and_old_ones_stay() -> None:
    old = {"a": 1.0, "b": 2.0}
    merged = merge_durations(old, {"b": 3.0, "d": 1.0}, {"c": 4.0, "b": 5.0})
    assert merged == {"a": 1.0, "b": 5.0, "c": 4.0, "d": 1.0}
    assert list(merged) == ["a", "b", "c", "d"]
    assert old == {"a": 1.0, "b": 2.0}


def test_durations_file_round_trip_and_pytest_split_formats(tmp_path: Path) -> None:
    path = tmp_path / "sub" / ".test_durations"
    assert read_durations(path) == {}
    write_durations(path, {"b::t": 2.5, "a::t": 1})
    assert json.loads(path.read_text()) == {"a::t": 1, "b::t": 2.5}
    assert read_durations(path) == {"a::t": 1.0, "b::t": 2.5}
    assert [p.name for p in path.parent.iterdir()] == [".test_durations"]
    legacy = tmp_path / "legacy"
    legacy.write_text('[["a::t", 1.5], ["b::t", 2]]')
    assert read_durations(legacy) == {"a::t": 1.5, "b::t": 2.0}
    bad = tmp_path / "bad"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad"):
        read_durations(bad)


COLLECT_OUTPUT = """\
tests/test_a.py::test_one
tests/test_a.py::TestK::test_p[a b]
tests/test_a.py::TestK::test_p[c::d]

=============================== warnings summary ===============================
tests/test_a.py::test_one
  some warning
3 tests collected in 0.01s
"""


def test_parse_collected_stops_at_the_summary() -> None:
    assert parse_collected(COLLECT_OUTPUT) == [
        "tests/test_a.py::test_one",
        "tests/test_a.py::TestK::test_p[a b]",
        "tests/test_a.py::TestK::test_p[c::d]",
    ]


def test_node_id_file_selects_exactly_those_tests_in_pytest(tmp_path: Path) -> None:
    # The collect-once design only works if ids with spaces and "::" in their
    # parameters survive the trip through collect-only output and an @file.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text(
        "import pytest\n"
        "def test_one(): pass\n"
        "def test_two(): pass\n"
        "class TestK:\n"
        "    @pytest.mark.parametrize('x', ['a b', 'c::d', 'e'])\n"
        "    def test_p(self, x): pass\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    collected = subprocess.run(
        [*base, "--collect-only", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=True,
    )
    ids = parse_collected(collected.stdout)
    assert len(ids) == 5
    chosen = split(ids, {}, 2)[1]
    write_node_ids(tmp_path / "shard.txt", chosen)
    ran = subprocess.run(
        [*base, "--collect-only", "-q", "@shard.txt"], cwd=tmp_path, env=env,
        capture_output=True, text=True, check=True,
    )
    assert parse_collected(ran.stdout) == chosen
