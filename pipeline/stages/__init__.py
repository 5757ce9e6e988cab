"""One module (or subpackage) per stage kind; ``KINDS`` names them (pre-commit's all_languages)."""

from __future__ import annotations

from pipeline.stages import build, command, deploy
from pipeline.stages.base import StageKind
from pipeline.stages.pytest import stage as pytest_kind
from pipeline.stages.scan import stage as scan_kind

KINDS: dict[str, StageKind] = {
    "command": command,
    "pytest": pytest_kind,
    "build": build,
    "scan": scan_kind,
    "deploy": deploy,
}
