"""A test job's fixed cost, phase by phase, for report.json.

Two clocks meet here: the engine's (``RunResult.phases``: image, services, source
copy, container create, file copy, start, commands, export, cleanup; and the epoch
marks of the last command) and the in-container phase plugin's marks (``phases.py``:
plugin loaded, databases ready, conftests imported, first test, last test, session
end), written to ``phases.json`` in the exported output. Both are on the host's
clock (a container shares the host kernel's), so the gaps between them are the
phases the issue asks for: interpreter start, database template and clones, app
import, first test, tail after the last test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PHASES_FILE = "phases.json"


def _gap(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(max(0.0, later - earlier), 3)


def read_marks(path: Path) -> dict[str, float]:
    """The plugin's marks of the controller (or the only process); {} if unreadable."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    marks = doc.get("marks") if isinstance(doc, dict) else None
    out = {str(k): float(v) for k, v in (marks or {}).items() if isinstance(v, int | float)}
    # Under xdist the controller runs no test: the workers' last database/import marks
    # are when the first test could start.
    workers = doc.get("workers") if isinstance(doc, dict) else None
    for name in ("databases_ready", "conftests_imported"):
        times = [float(w[name]) for w in (workers or {}).values() if isinstance(w, dict) and name in w]
        if times:
            out[f"workers_{name}"] = max(times)
    return out


def job_phases(engine: dict[str, float], marks: dict[str, float], inside: dict[str, float]) -> dict[str, Any]:
    """Seconds per phase of one test job (None where a clock could not tell)."""
    start = marks.get("command_start")
    end = marks.get("command_end")
    ready = inside.get("workers_conftests_imported", inside.get("conftests_imported"))
    before_tests = sum(engine.get(k, 0.0) for k in ("image", "services", "source", "create", "copy", "start"))
    first = inside.get("first_test_start")
    phases: dict[str, Any] = {
        "container_create": round(engine.get("create", 0.0) + engine.get("start", 0.0), 3),
        "source_copy": round(engine.get("source", 0.0) + engine.get("copy", 0.0), 3),
        "service_ready": round(engine.get("services", 0.0), 3),
        "image": round(engine.get("image", 0.0), 3),
        "interpreter_start": _gap(inside.get("plugin_loaded"), start),
        "db_template_and_clones": _gap(
            inside.get("workers_databases_ready", inside.get("databases_ready")), inside.get("plugin_loaded")
        ),
        "app_import": _gap(inside.get("conftests_imported"), inside.get("databases_ready")),
        "to_first_test": _gap(first, start),
        "tests": _gap(inside.get("last_test_stop"), first),
        "after_last_test": _gap(end, inside.get("last_test_stop")),
        "export": round(engine.get("export", 0.0), 3),
        "cleanup": round(engine.get("cleanup", 0.0), 3),
        "workers_ready": _gap(ready, start),
    }
    to_first = phases["to_first_test"]
    # The fixed cost: everything but the tests themselves (before the first, after the last).
    if to_first is not None and phases["after_last_test"] is not None:
        phases["fixed_cost"] = round(
            before_tests + to_first + phases["after_last_test"] + phases["export"] + phases["cleanup"], 3
        )
    return phases
