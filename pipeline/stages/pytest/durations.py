"""Recorded test durations per pytest stage (pytest-split's JSON format).

Kept in the run's durable store when there is one (so an ephemeral runner gets
them back), else in ``durations/<stage>.json`` of the project's state folder
(``config/state.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from pipeline.cache.durable import durations_name, load_json, save_json
from pipeline.config.state import existing_state_file, state_file
from pipeline.stages.base import PipelineRun
from pipeline.stages.pytest import shards


def load_for(run: PipelineRun, stage: str) -> dict[str, float]:
    if run.store is not None:
        data = load_json(run.store, durations_name(stage), {})
        if isinstance(data, dict) and data:
            return {str(k): float(v) for k, v in data.items()}
    path = existing_state_file(run.config.base_dir, f"durations/{stage}.json")
    return shards.read_durations(path) if path is not None else {}


def save_for(run: PipelineRun, stage: str, new: Mapping[str, float]) -> None:
    merged = shards.merge_durations(load_for(run, stage), new)
    path = state_file(run.config.base_dir, f"durations/{stage}.json")
    # A read-only state folder loses only the local copy; the store (if any) still gets them.
    with contextlib.suppress(OSError):
        shards.write_durations(path, merged)
    if run.store is not None:
        save_json(run.store, durations_name(stage), merged)
