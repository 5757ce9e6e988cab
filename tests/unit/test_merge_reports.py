"""merge-reports builds its report with the run's builder and combines coverage with path mapping."""

from __future__ import annotations

import json
from pathlib import Path

import coverage
import pytest

from pipeline.reports.merge import merge_reports
from pipeline.reports.summary import render_summary


def _source(path: Path, run_id: str, *, started: str, finished: str, jobs: list[dict[str, object]],
            project_root: str | None = None, covered: dict[str, list[int]] | None = None) -> Path:
    path.mkdir(parents=True)
    report = {
        "run_id": run_id, "git_sha": "abc", "engine": "docker", "status": "success",
        "started": started, "finished": finished, "jobs": jobs,
        "tests": {"passed": 2, "failed": 0, "skipped": 0, "errors": 0, "flaky": 0},
        "coverage": None, "critical_path": [str(j["name"]) for j in jobs],
        "quarantined_tests": [{"test": f"t.py::q_{run_id}", "job": "unit"}],
    }
    if project_root:
        report["project_root"] = project_root
    (path / "report.json").write_text(json.dumps(report))
    if covered:
        data = coverage.CoverageData(basename=str(path / ".coverage"))
        data.add_lines(covered)
        data.write()
    return path


def _job(name: str, seconds: float) -> dict[str, object]:
    return {"name": name, "stage": name, "kind": "pytest", "shard": None, "status": "success",
            "started": None, "finished": None, "duration_s": seconds, "log": f"logs/{name}.log",
            "artifacts": []}


def test_a_merged_report_has_the_run_reports_keys(tmp_path: Path) -> None:
    # Before, merge-reports built its own dict: no duration (the summary said 0.0s),
    # no critical path, no quarantined tests.
    a = _source(tmp_path / "a", "r1", started="2026-11-23T07:01:00+00:00",
                finished="2026-11-23T07:10:00+00:00", jobs=[_job("unit", 30.0), _job("lint", 5.0)])
    b = _source(tmp_path / "b", "r2", started="2026-11-23T07:02:00+00:00",
                finished="2026-11-23T07:11:00+00:00", jobs=[_job("api", 70.0)])
    merged = merge_reports([a, b], tmp_path / "m", root=tmp_path)
    assert merged["duration_s"] == 600.0
    assert merged["critical_path"] == ["api"]  # the slowest runner's path
    assert [q["test"] for q in merged["quarantined_tests"]] == ["t.py::q_r1", "t.py::q_r2"]
    assert merged["tests"]["passed"] == 4
    assert "600.0s" in render_summary(merged)
    assert json.loads((tmp_path / "m/report.json").read_text())["duration_s"] == 600.0


def test_merged_coverage_maps_each_runners_paths_to_this_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "app").mkdir(parents=True)
    (checkout / "app/mod.py").write_text("a = 1\nb = 2\nc = 3\n")
    # One runner's data names its own checkout, another's the container path.
    a = _source(tmp_path / "a", "r1", started="2026-11-23T07:01:00+00:00",
                finished="2026-11-23T07:10:00+00:00", jobs=[_job("unit", 1.0)],
                project_root="/home/runner1/work/app", covered={"/home/runner1/work/app/app/mod.py": [1, 2]})
    b = _source(tmp_path / "b", "r2", started="2026-11-23T07:01:00+00:00",
                finished="2026-11-23T07:10:00+00:00", jobs=[_job("api", 1.0)],
                covered={"/src/app/mod.py": [3]})
    merged = merge_reports([a, b], tmp_path / "m", root=checkout)
    # Lines 1-2 from one runner and 3 from the other land on one file of this checkout.
    assert merged["coverage"] == {"percent": pytest.approx(100.0)}
