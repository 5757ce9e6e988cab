"""Where a pytest job's files go in its container, and the stage's config, for every
module of the kind (the container's spec, impact analysis, results)."""

from __future__ import annotations

from pathlib import Path

from pipeline.config.model import PytestStage
from pipeline.stages.base import JobContext

TESTING = Path(__file__).resolve().parents[2] / "testing"  # pipeline/testing, copied in
PLUGIN_DIR = "/slipway"
OUT_DIR = "/slipway/out"
NODE_IDS_FILE = "/slipway/tests.txt"
SESSION_FILE = f"{OUT_DIR}/session.json"  # the progress plugin: rootdir, worker timings


def stage_of(ctx: JobContext) -> PytestStage:
    assert isinstance(ctx.stage, PytestStage)
    return ctx.stage
