"""``python -m pipeline report DIR --open``: report.html in the browser ``$BROWSER``
names (Python's webbrowser runs it), written first when an older run left none; a
machine without a browser gets a message and the path, not an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPORT = {
    "run_id": "r-open",
    "git_sha": "abc",
    "engine": "docker",
    "status": "success",
    "started": "2026-12-01T10:00:00+00:00",
    "finished": "2026-12-01T10:00:05+00:00",
    "duration_s": 5.0,
    "jobs": [
        {"name": "lint", "stage": "lint", "kind": "command", "shard": None, "status": "success",
         "started": "2026-12-01T10:00:00+00:00", "finished": "2026-12-01T10:00:05+00:00",
         "duration_s": 5.0, "log": "logs/lint.log", "artifacts": []}
    ],
    "tests": None,
    "critical_path": ["lint"],
}


def report_cli(report_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "report", str(report_dir), "--open"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_open_shows_report_html_in_the_browser_browser_names(tmp_path: Path) -> None:
    report_dir = tmp_path / "out"
    report_dir.mkdir()
    (report_dir / "report.json").write_text(json.dumps(REPORT))
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    proc = report_cli(report_dir, {**os.environ, "BROWSER": f"{browser} %s"})
    assert proc.returncode == 0, proc.stderr
    assert "Slipway run r-open: success" in proc.stdout
    assert opened.read_text().strip() == (report_dir / "report.html").resolve().as_uri()
    assert "r-open" in (report_dir / "report.html").read_text()  # written: this run had none
    assert (report_dir / "timeline.svg").is_file()


def test_without_a_browser_it_says_where_the_page_is(tmp_path: Path) -> None:
    report_dir = tmp_path / "out"
    report_dir.mkdir()
    (report_dir / "report.json").write_text(json.dumps(REPORT))
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    proc = report_cli(report_dir, {**env, "PATH": str(empty)})
    assert proc.returncode == 0, proc.stderr
    assert "no web browser found here" in proc.stderr
    assert str(report_dir / "report.html") in proc.stderr
