"""Recorded test durations per pytest stage (pytest-split's JSON format).

Kept in the run's durable store when there is one (so an ephemeral runner gets
them back), else in ``.slipway/durations/<stage>.json`` next to pipeline.yaml.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from pipeline.cache.durable import durations_name, load_json, save_json
from pipeline.stages.base import PipelineRun
from pipeline.stages.pytest import shards


def load_for(run: PipelineRun, stage: str) -> dict[str, float]:
    if run.store is not None:
        data = load_json(run.store, durations_name(stage), {})
        if isinstance(data, dict) and data:
            return {str(k): float(v) for k, v in data.items()}
    path = run.config.base_dir / ".slipway" / "durations" / f"{stage}.json"
    return shards.read_durations(path) if path.is_file() else {}


def save_for(run: PipelineRun, stage: str, new: Mapping[str, float]) -> None:
    merged = shards.merge_durations(load_for(run, stage), new)
    path = run.config.base_dir / ".slipway" / "durations" / f"{stage}.json"
    # A read-only checkout loses only the local copy; the store (if any) still gets them.
    with contextlib.suppress(OSError):
        shards.write_durations(path, merged)
    if run.store is not None:
        save_json(run.store, durations_name(stage), merged)
