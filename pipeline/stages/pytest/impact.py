"""Test impact analysis for a pytest job (``impact:`` in the stage): the record of the
last run comes from the run's durable store (so an ephemeral runner has it), is copied
in as the baseline, and the in-container plugin (``pipeline/testing/impact.py``) leaves
out the tests that passed last time and that nothing changed can reach; the new record
goes back to the store, and report.json says what ran and why.

A full run (every test, still recording) when: the stage has no ``impact``, the branch
is one of ``impact.full_on``, ``--no-cache`` was given, ``SLIPWAY_FULL_TESTS`` is set, or
no record is stored yet.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from pipeline.cache.durable import load_json, save_json
from pipeline.cache.store import check_key
from pipeline.model.spec import FileMount
from pipeline.stages.base import JobContext
from pipeline.stages.pytest.layout import OUT_DIR, PLUGIN_DIR, TESTING, stage_of

IMPACT_OUT = f"{OUT_DIR}/impact"
BASELINE_DEST = f"{PLUGIN_DIR}/impact-baseline.json"
FULL_VARIABLE = "SLIPWAY_FULL_TESTS"
PLUGIN_MODULES = {
    "impact.py": "slipway_pytest_impact",
    "impactdata.py": "slipway_pytest_impactdata",
    "codemap.py": "slipway_pytest_codemap",
    "workers.py": "slipway_pytest_workers",
}


def record_name(job: str) -> str:
    return check_key(f"impact/{job}.json")


def _local(ctx: JobContext) -> Path:
    return ctx.run.config.base_dir / ".slipway" / "impact" / f"{ctx.job.name}.json"


def full_run_reason(ctx: JobContext) -> str | None:
    """Why every test runs this time, or None if the analysis may leave tests out."""
    impact = stage_of(ctx).impact
    if impact is None:
        return "impact analysis is off for this stage"
    branch = ctx.run.config.variables.get("BRANCH", "")
    if branch in impact.full_on:
        return f"branch {branch} is in impact.full_on"
    if ctx.run.options.no_cache:
        return "--no-cache"
    if os.environ.get(FULL_VARIABLE):
        return f"{FULL_VARIABLE} is set"
    return None


def load_baseline(ctx: JobContext) -> Path | None:
    """The stored record, written where the spec copies it from; None for a full run."""
    if full_run_reason(ctx) is not None:
        return None
    doc: Any = load_json(ctx.run.store, record_name(ctx.job.name), None) if ctx.run.store else None
    if not doc and _local(ctx).is_file():
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads(_local(ctx).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not doc.get("tests"):
        return None
    path = ctx.artifacts_dir.parent / f"{ctx.job.name}.impact-baseline.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def files(ctx: JobContext, baseline: Path | None) -> list[FileMount]:
    if stage_of(ctx).impact is None:
        return []
    out = [
        FileMount(source=TESTING / src, dest=f"{PLUGIN_DIR}/{mod}.py") for src, mod in PLUGIN_MODULES.items()
    ]
    if baseline is not None:
        out.append(FileMount(source=baseline, dest=BASELINE_DEST))
    return out


def env(ctx: JobContext, baseline: Path | None) -> dict[str, str]:
    impact = stage_of(ctx).impact
    if impact is None:
        return {}
    out = {"SLIPWAY_IMPACT_DIR": IMPACT_OUT, "SLIPWAY_IMPACT_IGNORE": json.dumps(list(impact.ignore))}
    if baseline is not None:
        out["SLIPWAY_IMPACT_BASELINE"] = BASELINE_DEST
    return out


def args(ctx: JobContext) -> list[str]:
    return ["-p", PLUGIN_MODULES["impact.py"]] if stage_of(ctx).impact is not None else []


def finish(ctx: JobContext, baseline: Path | None) -> dict[str, Any] | None:
    """Store the new record; what the report says about the selection."""
    if stage_of(ctx).impact is None:
        return None
    out = ctx.artifacts_dir / IMPACT_OUT.lstrip("/")
    record = out / "record.json"
    if record.is_file():
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads(record.read_text(encoding="utf-8"))
            if ctx.run.store is not None:
                save_json(ctx.run.store, record_name(ctx.job.name), doc)
            with contextlib.suppress(OSError):  # a read-only checkout keeps only the store's copy
                _local(ctx).parent.mkdir(parents=True, exist_ok=True)
                _local(ctx).write_text(json.dumps(doc), encoding="utf-8")
    summary: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        summary = json.loads((out / "selection.json").read_text(encoding="utf-8")).get("summary") or {}
    full = full_run_reason(ctx) or (None if baseline is not None else "no stored record: every test runs")
    return {"full_run": full, **summary}
