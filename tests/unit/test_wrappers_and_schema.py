"""The CI wrappers are valid for their CI and stay thin; the schema matches the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipeline.config.schema import schema_text
from pipeline.engines.dagger.provision import env_lines
from pipeline.engines.dagger.provision.layout import Layout

REPO = Path(__file__).resolve().parents[2]
CHECK = Path(sys.executable).parent / "check-jsonschema"


@pytest.mark.parametrize(
    ("path", "schema"),
    [(".github/workflows/ci.yml", "vendor.github-workflows"), (".woodpecker.yml", "vendor.woodpecker-ci")],
)
def test_wrapper_validates_against_its_ci_schema(path: str, schema: str) -> None:
    proc = subprocess.run(
        [str(CHECK), "--builtin-schema", schema, str(REPO / path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflow_runs_the_pipeline_under_dagger_and_keeps_the_report() -> None:
    wf = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    steps = wf["jobs"]["pipeline"]["steps"]
    runs = [s.get("run", "") for s in steps]
    # The runner is prepared first (every process is gone when a CI job starts): the
    # engine is built once (cached) and started, then the CLI is pointed at it.
    prepare = runs.index("./scripts/setup-machine")
    pipeline = next(i for i, r in enumerate(runs) if "dagger run" in r)
    assert prepare < pipeline
    script = runs[pipeline].splitlines()
    assert script[0] == 'eval "$(.venv/bin/python -m pipeline engine dagger --env)"'
    assert script[1].startswith("dagger run .venv/bin/python -m pipeline run --engine dagger")
    assert "--report-dir slipway-report" in script[1]
    # No CLI download (our runners reach no download site) and no unpinned engine.
    assert not any(str(s.get("uses", "")).startswith("dagger/dagger-for-github") for s in steps)
    assert "dl.dagger.io" not in (REPO / ".github/workflows/ci.yml").read_text().replace("# ", "")
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"  # a red run keeps its report
    assert upload["with"]["path"].startswith("slipway-report")


def test_woodpecker_runs_the_pipeline_under_dagger() -> None:
    wp = yaml.safe_load((REPO / ".woodpecker.yml").read_text())
    commands = wp["steps"][0]["commands"]
    assert commands[0] == "./scripts/setup-machine"
    assert 'eval "$(.venv/bin/python -m pipeline engine dagger --env)"' in commands
    assert any(c.startswith("dagger run") and "-m pipeline run --engine dagger" in c for c in commands)
    assert not any("dl.dagger.io" in c for c in commands)
    assert wp["steps"][1]["when"][0]["status"] == ["success", "failure"]


def test_the_engine_exports_are_what_the_wrappers_eval() -> None:
    # `engine dagger --env` prints only shell lines to stdout (progress goes to stderr).
    for line in env_lines(Layout(root=Path("/var/cache/slipway-dagger"), version="v0.21.8"), 1234):
        assert line.startswith(("export ", "# "))


def test_committed_schema_is_generated_from_the_model() -> None:
    assert (REPO / "schema/pipeline.schema.json").read_text() == schema_text()


def test_repo_pipeline_yaml_validates_against_the_schema() -> None:
    schema = json.loads(schema_text())
    data = yaml.safe_load((REPO / "pipeline.yaml").read_text())
    jsonschema.validate(data, schema)
    data["stages"][0]["bogus"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
