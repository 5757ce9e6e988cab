"""One module per stage kind; ``KINDS`` names them (pre-commit's all_languages)."""

from __future__ import annotations

from pipeline.stages import build, command, deploy, pytest, scan
from pipeline.stages.base import StageKind

KINDS: dict[str, StageKind] = {
    "command": command,
    "pytest": pytest,
    "build": build,
    "scan": scan,
    "deploy": deploy,
}
