"""``last-run.json`` in the project's state folder (``config/state.py``): each job's
duration in the last run.

``plan`` reads it for the critical path; a run reads it once at its start (the
pytest jobs' CPU budget weighs their expected work by it) and updates it at its end.
"""

from __future__ import annotations

import json

from pipeline.config import Config
from pipeline.config.state import existing_state_file, state_file
from pipeline.model.outcome import JobStatus
from pipeline.scheduler import SchedulerResult

LAST_RUN_FILE = "last-run.json"


def last_durations(config: Config) -> dict[str, float]:
    """Durations of the last run's jobs, for the critical path ({} when unknown)."""
    path = existing_state_file(config.base_dir, LAST_RUN_FILE)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.get("durations", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def save_durations(config: Config, result: SchedulerResult) -> None:
    durations = last_durations(config)
    durations.update(
        {
            r.job.name: r.duration_s
            for r in result.records
            if r.status in (JobStatus.SUCCESS, JobStatus.FAILED)
        }
    )
    path = state_file(config.base_dir, LAST_RUN_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"durations": durations}, indent=2), encoding="utf-8")
    except OSError:
        pass  # a read-only state folder only loses the critical-path estimate
