"""Where Slipway keeps what it remembers about a project between runs (last run's job
durations, recorded test durations, release history): outside the user's checkout.

A folder per project under the user's state directory (``platformdirs``:
``~/.local/state/slipway/projects/<folder>-<hash>`` on Linux), keyed by the absolute
path of the folder that holds pipeline.yaml; ``SLIPWAY_STATE_DIR`` moves the root (CI
runners, tests). Earlier versions wrote ``.slipway/`` next to pipeline.yaml: a file
that is not yet in the new place is still read from there, and the next write puts
it in the new place, so an existing user keeps their history without a step.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import platformdirs

STATE_ENV = "SLIPWAY_STATE_DIR"
LEGACY_DIR = ".slipway"


def state_root() -> Path:
    override = os.environ.get(STATE_ENV, "").strip()
    return Path(override) if override else Path(platformdirs.user_state_dir("slipway"))


def state_dir(base_dir: Path) -> Path:
    """The state folder of the project whose pipeline.yaml is in ``base_dir``."""
    resolved = base_dir.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", resolved.name) or "root"
    return state_root() / "projects" / f"{name}-{digest}"


def state_file(base_dir: Path, rel: str) -> Path:
    """Where to write ``rel`` (e.g. ``last-run.json``) of this project's state."""
    return state_dir(base_dir) / rel


def existing_state_file(base_dir: Path, rel: str) -> Path | None:
    """Where to read ``rel`` from: the state folder, else the ``.slipway/`` of earlier versions."""
    for path in (state_file(base_dir, rel), base_dir / LEGACY_DIR / rel):
        if path.is_file():
            return path
    return None
