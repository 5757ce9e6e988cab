"""Issue 5 on the bundled example, Docker engine: groups in parallel with xdist and
per-worker databases, a broken test named with its reproduce command, reproduce,
and shards balanced by recorded durations.

Everything runs in a temporary copy of the example, so a test can be broken on
purpose and the repository's own state is not touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.stages.pytest import junit

REPO = Path(__file__).resolve().parents[2]
ISOLATION = "test_database_isolation.py"
# The first run builds the example's test image and runs its whole suite (minutes on
# two cores): past pytest-timeout's default, within each command's own 900 s limit.
pytestmark = pytest.mark.timeout(1800)


def copy_example(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("node_modules", ".venv", "__pycache__", "dist", ".pytest_cache")
    shutil.copytree(REPO / "examples", dest / "examples", ignore=ignore)
    for name in ("Dockerfile.test", "pipeline.yaml", ".dockerignore", "docker-bake.hcl"):
        shutil.copy(REPO / name, dest / name)
    return dest


def slipway(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_SHA": "e" * 40, "BRANCH": "test",
           "SLIPWAY_CACHE_DIR": str(cwd / ".cache"), "SLIPWAY_STATE_DIR": str(cwd / ".state")}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def report(path: Path) -> dict[str, Any]:
    return json.loads((path / "report.json").read_text())


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="module")
def green_run(example: Path) -> dict[str, Any]:
    proc = slipway(example, "run", "--only", "tests", "--no-cache", "--engine", "docker",
                   "--report-dir", "out")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return report(example / "out")


def test_groups_overlap_each_with_xdist_workers(green_run: dict[str, Any]) -> None:
    jobs = {j["name"]: j for j in green_run["jobs"]}
    assert set(jobs) == {"tests-unit", "tests-integration", "tests-api"}
    spans = [(datetime.fromisoformat(j["started"]), datetime.fromisoformat(j["finished"]))
             for j in jobs.values()]
    latest_start = max(s for s, _ in spans)
    earliest_end = min(e for _, e in spans)
    assert latest_start < earliest_end, "all three groups should be running at one moment"
    for job in jobs.values():
        assert job["status"] == "success"
        assert job["workers"] > 1
    assert green_run["tests"]["passed"] >= 400 and green_run["tests"]["failed"] == 0


def test_isolation_check_ran_and_passed_in_integration_and_api(example: Path,
                                                               green_run: dict[str, Any]) -> None:
    for job in ("tests-integration", "tests-api"):
        cases = junit.results(example / "out/artifacts" / job / "slipway/out/junit.xml")
        isolation = [c for c in cases if ISOLATION in c.node_id]
        assert isolation, f"{job} ran no isolation test"
        assert all(c.outcome == "passed" for c in isolation)


def test_merged_junit_and_coverage_exported(example: Path, green_run: dict[str, Any]) -> None:
    merged = (example / "out/junit.xml").read_text()
    assert merged.count("<testsuite ") >= 3
    assert (example / "out/coverage.xml").is_file()
    assert green_run["coverage"]["percent"] > 50
    # Paths were mapped back from /src to the repository copy.
    assert 'filename="' in (example / "out/coverage.xml").read_text()
    assert "/src/" not in (example / "out/coverage.xml").read_text()


def test_broken_test_fails_the_run_names_it_and_reproduces(example: Path,
                                                           green_run: dict[str, Any]) -> None:
    target = next((example / "examples/inventory/backend/tests/unit").glob("test_*.py"))
    original = target.read_text()
    target.write_text(original + "\n\ndef test_broken_on_purpose() -> None:\n    assert 1 + 1 == 3\n")
    try:
        proc = slipway(example, "run", "--only", "tests-unit", "--no-cache", "--engine", "docker",
                       "--report-dir", "broken")
        assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
        data = report(example / "broken")
        test_id = f"tests/unit/{target.name}::test_broken_on_purpose"
        assert [f["test"] for f in data["failures"]] == [test_id]
        command = data["failures"][0]["reproduce"]
        assert command == f"python -m pipeline reproduce {test_id} --job tests-unit"
        summary = (example / "broken/summary.md").read_text()
        assert test_id in summary and command in summary
        assert (example / "broken/junit.xml").is_file() and (example / "broken/coverage.xml").is_file()
        again = slipway(example, *command.split()[3:], "--engine", "docker", timeout=600)
        assert again.returncode == 1, again.stdout[-2000:] + again.stderr[-2000:]
        assert "test_broken_on_purpose FAILED" in again.stdout
        assert "assert (1 + 1) == 3" in again.stdout
    finally:
        target.write_text(original)


def test_four_shards_balanced_by_recorded_durations(example: Path, green_run: dict[str, Any]) -> None:
    config = yaml.safe_load((example / "pipeline.yaml").read_text())
    stage = next(s for s in config["stages"] if s["name"] == "tests-integration")
    stage["shards"] = 4
    (example / "pipeline-sharded.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # The green run recorded this group's durations; the split now uses them.
    assert list((example / ".state").glob("projects/*/durations/tests-integration.json"))
    proc = slipway(example, "run", "--config", "pipeline-sharded.yaml", "--only", "tests-integration",
                   "--no-cache", "--engine", "docker", "--report-dir", "sharded")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = report(example / "sharded")
    names = sorted(j["name"] for j in data["jobs"])
    assert names == [f"tests-integration-{i}of4" for i in range(1, 5)]
    integration = next(j for j in green_run["jobs"] if j["name"] == "tests-integration")
    assert sum(j["tests"]["passed"] for j in data["jobs"]) == integration["tests"]["passed"]
    balance = data["shards"]["tests-integration"]
    assert len(balance["shards"]) == 4
    # The split, from the recorded durations: longest / mean of what each shard gets.
    assert balance["planned_imbalance"] <= 1.10, balance
    # Measured: four shards of ~5 s of tests inside ~50 s of container, PostgreSQL and
    # xdist start-up, sharing 2 cores; start-up noise dominates, so only a sanity bound
    # on wall time, and the summed test seconds are reported, not bounded.
    assert balance["imbalance"] <= 1.25, balance
    assert balance["test_imbalance"] is not None
