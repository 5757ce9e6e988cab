"""What the progress plugin (``pipeline/testing/progress.py``) wrote at the end of the
session: pytest's rootdir in the container, and each xdist worker's start, end and
number of tests, which the run's timeline draws under the job's bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def session_data(out_dir: Path) -> dict[str, Any]:
    """``{"pytest_rootdir": ..., "worker_timings": [...]}`` from ``out_dir/session.json``;
    empty when pytest died before writing it (the job's outcome says why elsewhere)."""
    try:
        raw = json.loads((out_dir / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    data: dict[str, Any] = {}
    if isinstance(raw.get("rootdir"), str):
        data["pytest_rootdir"] = raw["rootdir"]
    workers = [
        {
            "worker": str(w.get("worker")),
            "started": str(w.get("started")),
            "finished": str(w.get("finished")),
            "tests": w["tests"] if isinstance(w.get("tests"), int) else 0,
        }
        for w in raw.get("workers") or []
        if isinstance(w, dict) and w.get("started") and w.get("finished")
    ]
    if workers:
        data["worker_timings"] = workers
    return data
