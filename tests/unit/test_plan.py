"""The plan: the repo's own graph, shards, selection, critical path, formats."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import typer.main

from pipeline.commands.cli import MIN_DEFAULT_JOBS, app, default_jobs, main
from pipeline.config import load_config
from pipeline.model.errors import UsageError
from pipeline.plan import Shard, build_plan

REPO = Path(__file__).resolve().parents[2]


def repo_plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["plan", "--config", str(REPO / "pipeline.yaml"), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_repo_graph_is_the_default_graph(capsys: pytest.CaptureFixture[str]) -> None:
    data = repo_plan_json(capsys)
    jobs = {j["name"]: j for j in data["jobs"]}  # type: ignore[index,union-attr]
    starters = {"scan-deps", "tests-unit", "tests-integration", "tests-api", "frontend",
                "build-backend", "build-frontend"}
    for name in starters:
        assert jobs[name]["needs"] == [], f"{name} should start at once"
    assert set(jobs["scan-images"]["needs"]) >= {
        "build-backend", "build-frontend", "tests-unit", "tests-integration", "tests-api"
    }
    assert jobs["deploy-staging"]["needs"] == ["scan-images"]
    assert jobs["health-check"]["needs"] == ["deploy-staging"]
    assert jobs["deploy-production"]["needs"] == ["health-check"]
    builds = [j for j in jobs.values() if j["kind"] == "build"]
    tests = {n for n, j in jobs.items() if j["kind"] == "pytest"}
    assert builds and all(not set(b["needs"]) & tests for b in builds)
    for j in jobs.values():
        assert set(j) >= {"name", "stage", "kind", "shard", "needs"}


SHARDED = """\
project: {name: demo}
stages:
  - {name: unit, kind: pytest, group: tests, shards: 3}
  - {name: lint, kind: command, image: python:3.12-slim, commands: [[ruff, check]]}
  - {name: build, kind: build, targets: [app], needs: [unit, lint]}
"""


@pytest.fixture
def sharded(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(SHARDED))
    return load_config(path, environ={})


def test_shards_expand_and_dependents_need_all(sharded) -> None:  # type: ignore[no-untyped-def]
    plan = build_plan(sharded)
    names = [j.name for j in plan.jobs]
    assert names[:3] == ["unit-1of3", "unit-2of3", "unit-3of3"]
    assert str(plan.job("unit-2of3").shard) == "2/3"
    assert plan.job("build").needs == ("unit-1of3", "unit-2of3", "unit-3of3", "lint")
    assert names.index("build") > max(names.index(n) for n in plan.job("build").needs)


def test_shard_option_keeps_one_shard_of_n(sharded) -> None:  # type: ignore[no-untyped-def]
    plan = build_plan(sharded, only=["tests"], shard=Shard.parse("2/4"))
    assert [(j.name, str(j.shard)) for j in plan.jobs] == [("unit-2of4", "2/4")]


def test_only_takes_needs_unless_no_needs(sharded) -> None:  # type: ignore[no-untyped-def]
    assert {j.stage for j in build_plan(sharded, only=["build"]).jobs} == {"unit", "lint", "build"}
    alone = build_plan(sharded, only=["build"], with_needs=False)
    assert [j.name for j in alone.jobs] == ["build"] and alone.jobs[0].needs == ()


def test_skip_drops_stage_and_edges(sharded) -> None:  # type: ignore[no-untyped-def]
    plan = build_plan(sharded, skip=["lint"])
    assert "lint" not in [j.name for j in plan.jobs]
    assert "lint" not in plan.job("build").needs


def test_selection_by_kind_and_unknown(sharded) -> None:  # type: ignore[no-untyped-def]
    assert [j.stage for j in build_plan(sharded, only=["command"]).jobs] == ["lint"]
    with pytest.raises(UsageError, match="no stage, group or kind named 'nope'"):
        build_plan(sharded, only=["nope"])


def test_critical_path_uses_last_durations(sharded) -> None:  # type: ignore[no-untyped-def]
    durations = {"unit-1of3": 10.0, "unit-2of3": 30.0, "unit-3of3": 5.0, "lint": 40.0, "build": 7.0}
    path, total = build_plan(sharded, durations=durations).critical_path()
    assert path == ["lint", "build"] and total == 47.0


@pytest.mark.parametrize("text", ["3", "0/2", "3/2", "a/b", "1/257", "1/1000000"])
def test_bad_shard(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        Shard.parse(text)


def test_the_most_shards_a_stage_may_have_is_also_the_most_for_shard() -> None:
    # The fuzzer's slowest case: --shard 1/1000000 planned a million jobs (3.9 s, 319 MB).
    assert Shard.parse("256/256").total == 256
    with pytest.raises(UsageError, match="N is at most 256"):
        Shard.parse("1/257")


def test_mermaid_and_text(sharded) -> None:  # type: ignore[no-untyped-def]
    plan = build_plan(sharded)
    assert "unit_1of3 --> build" in plan.to_mermaid()
    assert "critical path" in plan.to_text()


def test_plan_calls_prints_builds_and_container_calls(capsys: pytest.CaptureFixture[str]) -> None:
    config = str(REPO / "pipeline.yaml")
    assert main(["plan", "--config", config, "--calls", "build-backend", "--engine", "docker"]) == 0
    text = capsys.readouterr().out
    assert "## image build Dockerfile" in text
    assert "--target runtime -t localhost:5000/inventory-backend:" in text
    assert main(["plan", "--config", config, "--calls", "frontend", "--engine", "dagger"]) == 0
    text = capsys.readouterr().out
    assert '.with_exec(["npm", "ci", "--no-audit", "--no-fund"], expect=ANY)' in text
    assert main(["plan", "--config", config, "--calls", "deploy-staging", "--engine", "docker"]) == 0
    assert "decides its containers at run time" in capsys.readouterr().out
    assert main(["plan", "--config", config, "--calls", "nope", "--engine", "docker"]) == 2


def test_jobs_help_says_the_default_the_run_uses() -> None:
    # The help said "default: CPU count" while a run took max(cpus, 4).
    assert default_jobs(2) == MIN_DEFAULT_JOBS == 4
    assert default_jobs(16) == 16
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    (jobs,) = [p for p in run.params if "--jobs" in p.opts]
    assert "the CPU count, at least 4" in jobs.help


@pytest.mark.parametrize(
    "argv",
    [
        ["images", "bootstrap", "--bogus"],
        ["run", "--jobs", "many"],
        ["plan", "unexpected-extra-argument"],
        [],  # no command: typer prints the help, as a usage error
    ],
)
def test_bad_usage_is_typers_usage_error_with_exit_2_not_an_internal_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # typer >= 0.2x raises its own (vendored click) exceptions in non-standalone mode;
    # main() used to catch click's and called these "internal error", exit 1.
    assert main(argv) == 2
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert "internal error" not in text
    assert "Usage:" in text
