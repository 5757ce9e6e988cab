"""report.json keeps DESIGN.md's keys and types; summary.md and `report DIR` read it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.commands.cli import main
from pipeline.model.outcome import JobOutcome, JobStatus, RunStatus, TestTotals
from pipeline.plan import Job, Shard
from pipeline.reports.run_report import build_report, write_report
from pipeline.reports.summary import render_summary
from pipeline.scheduler import JobRecord, SchedulerResult


def make_result(tmp_path: Path) -> SchedulerResult:
    t0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    ok = JobRecord(
        job=Job(name="unit-1of2", stage="unit", kind="pytest", shard=Shard(index=1, total=2)),
        status=JobStatus.SUCCESS,
        started=t0,
        finished=t0 + timedelta(seconds=12),
        duration_s=12.0,
        log=tmp_path / "logs" / "unit-1of2.log",
        outcome=JobOutcome(
            status=JobStatus.SUCCESS,
            artifacts=(tmp_path / "artifacts" / "unit-1of2" / "junit.xml",),
            tests=TestTotals(passed=10, skipped=1),
        ),
    )
    bad = JobRecord(
        job=Job(name="api", stage="api", kind="pytest"),
        status=JobStatus.FAILED,
        started=t0,
        finished=t0 + timedelta(seconds=30),
        duration_s=30.0,
        log=tmp_path / "logs" / "api.log",
        outcome=JobOutcome(status=JobStatus.FAILED, tests=TestTotals(passed=3, failed=1, flaky=1)),
        detail="1 test failed",
    )
    skipped = JobRecord(job=Job(name="deploy", stage="deploy", kind="deploy", needs=("api",)),
                        detail="needs api, which did not succeed")
    return SchedulerResult(status=RunStatus.FAILED, records=[ok, bad, skipped], started=t0,
                           finished=t0 + timedelta(seconds=31))


def test_report_has_the_contract_keys_and_types(tmp_path: Path) -> None:
    report = build_report(make_result(tmp_path), run_id="r1", git_sha="abc", engine="docker",
                          report_dir=tmp_path, critical_path=["api"])
    path = write_report(report, tmp_path)
    data = json.loads(path.read_text())
    assert {"run_id", "git_sha", "engine", "status", "started", "finished", "jobs", "tests",
            "coverage"} <= set(data)
    assert data["status"] == "failed" and data["engine"] == "docker"
    datetime.fromisoformat(data["started"])
    job_keys = {"name", "stage", "kind", "shard", "status", "started", "finished", "duration_s",
                "log", "artifacts"}
    for job in data["jobs"]:
        assert job_keys <= set(job)
        assert job["status"] in ("success", "failed", "skipped", "cached")
        assert isinstance(job["duration_s"], float)
    first, _, skipped = data["jobs"]
    assert first["shard"] == "1/2" and first["log"] == "logs/unit-1of2.log"
    assert first["artifacts"] == ["artifacts/unit-1of2/junit.xml"]
    assert skipped["started"] is None and skipped["status"] == "skipped"
    assert data["tests"] == {"passed": 13, "failed": 1, "skipped": 1, "errors": 0, "flaky": 1}
    assert data["coverage"] is None


def test_summary_lists_jobs_critical_path_and_slowest(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = build_report(make_result(tmp_path), run_id="r1", git_sha="abc", engine="docker",
                          report_dir=tmp_path, critical_path=["api"])
    report["failures"] = [{"test": "tests/api/test_x.py::test_y", "job": "api",
                           "reproduce": "python -m pipeline reproduce tests/api/test_x.py::test_y"}]
    text = render_summary(report)
    assert "| api | ❌ failed | 30.0s | 1 test failed |" in text
    assert "**Critical path** (30.0s): api" in text
    assert text.index("- api: 30.0s") < text.index("- unit-1of2: 12.0s")
    assert "reproduce: `python -m pipeline reproduce tests/api/test_x.py::test_y`" in text
    write_report(report, tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert "Slipway run r1: failed" in capsys.readouterr().out


def test_report_command_on_a_dir_without_report(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no report here" in capsys.readouterr().err
