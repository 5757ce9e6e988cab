"""Split a test group into shards of about equal time, from recorded durations.

The split is pytest-split's own algorithm (``least_duration``), called with the
collected node ids. The pytest stage collects once (``pytest --collect-only -q``, read
with :func:`parse_collected`), calls :func:`split`, and hands each shard its
explicit node ids in a file (:func:`write_node_ids`, passed as ``pytest
@FILE``), so that no shard collects and filters on its own. After the run the
durations of all shards are merged (:func:`merge_durations`) and stored for the
next run in pytest-split's ``.test_durations`` format: ``{node id: seconds}``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from pytest_split.algorithms import Algorithms

if TYPE_CHECKING:
    from _pytest.nodes import Item

DEFAULT_DURATION = 1.0  # when nothing at all is recorded yet


def estimates(tests: Sequence[str], durations: Mapping[str, float]) -> dict[str, float]:
    """Each test's expected seconds: its record, else the mean of the records that apply.

    The mean is over the recorded tests among ``tests`` (the durations file also
    holds tests that were since removed or belong to other groups), falling
    back to the mean of the whole record, then to 1 s.
    """
    known = [durations[t] for t in tests if t in durations]
    if not known:
        known = list(durations.values())
    default = sum(known) / len(known) if known else DEFAULT_DURATION
    return {t: durations.get(t, default) for t in tests}


class _Item(NamedTuple):
    """What pytest-split's algorithms read of a test item: its node id."""

    nodeid: str


def split(tests: Sequence[str], durations: Mapping[str, float], n: int) -> list[list[str]]:
    """``n`` shards of ``tests`` by pytest-split's ``least_duration`` algorithm: longest
    first to the lightest shard (unrecorded tests at the mean of the recorded ones).

    Deterministic: ties go by node id and to the lower shard. Each shard keeps
    collection order, so module and class fixtures are set up once per shard rather
    than once per test. Shards may be empty when ``n`` exceeds the number of tests.
    Duplicate ids are kept once.
    """
    if n < 1:
        raise ValueError(f"the number of shards must be at least 1, got {n}")
    items = [_Item(t) for t in dict.fromkeys(tests)]
    # The algorithm reads only ``nodeid`` of pytest's items: a stand-in carries it.
    groups = Algorithms.least_duration.value(n, cast("list[Item]", items), dict(durations))
    return [[item.nodeid for item in group.selected] for group in groups]


def shard_times(shards: Sequence[Sequence[str]], durations: Mapping[str, float]) -> list[float]:
    """Expected seconds of each shard (unrecorded tests at the mean, as in :func:`split`)."""
    expected = estimates([t for shard in shards for t in shard], durations)
    return [sum(expected[t] for t in shard) for shard in shards]


def imbalance(shards: Sequence[Sequence[str]], durations: Mapping[str, float]) -> float:
    """Longest shard / mean shard (1.0 is perfect); 1.0 when there is no work at all."""
    return imbalance_of(shard_times(shards, durations))


def imbalance_of(times: Sequence[float]) -> float:
    """Longest / mean of measured shard times, e.g. each shard job's wall time."""
    if not times:
        return 1.0
    mean = sum(times) / len(times)
    return max(times) / mean if mean > 0 else 1.0


def merge_durations(old: Mapping[str, float], *new: Mapping[str, float]) -> dict[str, float]:
    """``old`` updated by each of ``new`` in turn (a later record wins), keys sorted.

    Tests absent from the new records keep their old duration: a shard that
    did not run them says nothing about them.
    """
    merged = dict(old)
    for record in new:
        merged.update(record)
    return dict(sorted(merged.items()))


def read_durations(path: Path) -> dict[str, float]:
    """A pytest-split durations file; ``{}`` when it does not exist yet.

    Also reads pytest-split's older format, a list of ``[node id, seconds]``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON durations file: {exc}") from exc
    items = data.items() if isinstance(data, dict) else data
    try:
        return {str(test): float(seconds) for test, seconds in items}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: expected {{node id: seconds}}: {exc}") from exc


def write_durations(path: Path, durations: Mapping[str, float]) -> None:
    """Write ``durations`` as pytest-split does (sorted keys, indented), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(sorted(durations.items())), indent=4) + "\n"
    # Write then rename, so a run killed half way never leaves a truncated record.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_collected(stdout: str) -> list[str]:
    """Node ids from the output of ``pytest --collect-only -q``.

    One id per line until the blank line before the summary; lines that are
    not node ids (warnings, the summary) are ignored.
    """
    ids: list[str] = []
    for line in stdout.splitlines():
        if not line.strip():
            if ids:
                break
            continue
        if "::" in line and not line.startswith((" ", "=", "-")):
            ids.append(line.rstrip())
    return ids


def write_node_ids(path: Path, tests: Sequence[str]) -> None:
    """A file for ``pytest @FILE``: one node id per line.

    Thousands of ids would exceed the command line's length limit; pytest
    (8.2 and later) reads arguments from a file named after ``@``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(t + "\n" for t in tests), encoding="utf-8")
