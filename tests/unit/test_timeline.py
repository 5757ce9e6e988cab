"""The timeline picture: one bar per job, status colours, the critical path marked, SVG and PNG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pipeline.reports import timeline

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def job(
    name: str, start: float | None, duration: float, status: str = "success", **extra: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "stage": extra.pop("stage", name),
        "kind": extra.pop("kind", "command"),
        "shard": extra.pop("shard", None),
        "status": status,
        "started": iso(start) if start is not None else None,
        "finished": iso(start + duration) if start is not None else None,
        "duration_s": duration,
        "log": f"logs/{name}.log",
        "artifacts": [],
    }
    entry.update(extra)
    return entry


def workers(start: float, *durations: float) -> list[dict[str, Any]]:
    return [
        {"worker": f"gw{i}", "started": iso(start + 1), "finished": iso(start + 1 + d), "tests": 10}
        for i, d in enumerate(durations)
    ]


def sample_report() -> dict[str, Any]:
    jobs = [
        job("scan-deps", 0.2, 12.0, kind="scan"),
        job(
            "tests-unit-1",
            0.3,
            30.0,
            stage="tests-unit",
            kind="pytest",
            shard="1/2",
            worker_timings=workers(0.3, 27.0, 26.0),
        ),
        job(
            "tests-unit-2",
            0.3,
            28.0,
            "failed",
            stage="tests-unit",
            kind="pytest",
            shard="2/2",
            worker_timings=workers(0.3, 25.0, 24.5),
            detail="1 failed: tests/test_a.py::test_x",
        ),
        job("frontend", 0.4, 0.1, "cached"),
        job("build-backend", 0.5, 40.0, kind="build"),
        job("scan-images", None, 0.0, "skipped", needs=["build-backend", "tests-unit-2"]),
        job("deploy-staging", None, 0.0, "skipped", needs=["scan-images"]),
    ]
    return {
        "run_id": "r-1",
        "git_sha": "abcdef1234567890",
        "engine": "docker",
        "status": "failed",
        "started": iso(0),
        "finished": iso(41),
        "duration_s": 41.0,
        "jobs": jobs,
        "tests": {"passed": 10, "failed": 1, "skipped": 0, "errors": 0, "flaky": 0},
        "coverage": None,
        "critical_path": ["build-backend", "scan-images", "deploy-staging"],
    }


def job_bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if r.get("data-job") is not None]


def test_one_bar_per_job_with_status_and_colour() -> None:
    report = sample_report()
    bars = job_bars(timeline.render_svg(report))
    assert sorted(b.get("data-job") for b in bars) == sorted(j["name"] for j in report["jobs"])
    by_job = {b.get("data-job"): b for b in bars}
    for entry in report["jobs"]:
        bar = by_job[entry["name"]]
        assert bar.get("data-status") == entry["status"]
        assert bar.get("fill") == timeline.STATUS_COLORS[entry["status"]]
    assert len({timeline.STATUS_COLORS[s] for s in ("success", "failed", "cached", "skipped")}) == 4


def test_critical_path_is_marked() -> None:
    bars = job_bars(timeline.render_svg(sample_report()))
    critical = {b.get("data-job") for b in bars if b.get("data-critical") == "true"}
    assert critical == {"build-backend", "scan-images", "deploy-staging"}
    for bar in bars:
        if bar.get("data-job") in critical:
            assert bar.get("stroke") and float(bar.get("stroke-width", "0")) >= 2


def test_bars_sit_on_the_time_axis() -> None:
    bars = {b.get("data-job"): b for b in job_bars(timeline.render_svg(sample_report()))}
    build, scan = bars["build-backend"], bars["scan-deps"]
    # build-backend ran 40 s, scan-deps 12 s, both from about the start.
    ratio = float(build.get("width", 0)) / float(scan.get("width", 0))
    assert ratio == pytest.approx(40 / 12, rel=0.02)
    assert float(build.get("data-start-s", "")) == pytest.approx(0.5)
    # A job that never ran stands after what it waited for, not at zero.
    skipped = bars["scan-images"]
    assert float(skipped.get("x", 0)) >= float(build.get("x", 0)) + float(build.get("width", 0)) - 1


def test_shards_and_workers() -> None:
    root = ET.fromstring(timeline.render_svg(sample_report()))
    shards = {r.get("data-job"): r.get("data-shard") for r in root.iter(f"{SVG}rect") if r.get("data-shard")}
    assert shards == {"tests-unit-1": "1/2", "tests-unit-2": "2/2"}
    workers_drawn = [
        (r.get("data-worker-of"), r.get("data-worker"))
        for r in root.iter(f"{SVG}rect")
        if r.get("data-worker")
    ]
    assert sorted(workers_drawn) == [
        ("tests-unit-1", "gw0"),
        ("tests-unit-1", "gw1"),
        ("tests-unit-2", "gw0"),
        ("tests-unit-2", "gw1"),
    ]


def test_names_are_escaped() -> None:
    report = sample_report()
    report["jobs"][0]["name"] = 'scan "<deps>" & co'
    report["jobs"][0]["detail"] = "bad \x07 byte"
    svg = timeline.render_svg(report)
    names = {b.get("data-job") for b in job_bars(svg)}  # parses: nothing broke the XML
    assert 'scan "<deps>" & co' in names


def test_report_without_times_still_draws() -> None:
    report = {"run_id": "r", "status": "interrupted", "jobs": [job("a", None, 0.0, "skipped")]}
    assert len(job_bars(timeline.render_svg(report))) == 1


def test_writes_svg_and_png(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps(sample_report()), encoding="utf-8")
    assert timeline.main([str(tmp_path)]) == 0
    svg = (tmp_path / timeline.SVG_FILE).read_text(encoding="utf-8")
    assert len(job_bars(svg)) == 7
    png = (tmp_path / timeline.PNG_FILE).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(tmp_path / timeline.PNG_FILE) as image:
        assert image.format == "PNG"
        assert image.width >= 1200
        # Not blank: the status colours are in it.
        colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20) or []}
        assert (0x2D, 0xA4, 0x4E) in colours and (0xCF, 0x22, 0x2E) in colours


def test_main_says_when_there_is_no_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert timeline.main([str(tmp_path)]) == 2
    assert "report.json" in capsys.readouterr().err
