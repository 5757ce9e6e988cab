"""report.html of a run with one failing test, opened in a real headless Chromium
(Debian's chromium package): the failing test's name and its reproduce command are
on the rendered page, and the timeline is drawn in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pipeline.reports import html, timeline

FAILING = "tests/api/test_orders.py::TestRefund::test_partial[a b]"
REPRODUCE = f"python -m pipeline reproduce '{FAILING}' --job tests-api"
LOG = f"""\
=================================== FAILURES ===================================
__________________________ TestRefund.test_partial[a b] __________________________

    def test_partial(self, client):
>       assert client.post("/refund").status_code == 200
E       assert 409 == 200

tests/api/test_orders.py:12: AssertionError
=========================== short test summary info ============================
FAILED {FAILING} - assert 409 == 200
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
        raise AssertionError(reason)  # pytest.fail/skip raise; this line is for the type checker
    return found


def synthetic_run(report_dir: Path) -> dict[str, Any]:
    def job(name: str, kind: str, start: int, seconds: int, status: str = "success") -> dict[str, Any]:
        return {
            "name": name,
            "stage": name,
            "kind": kind,
            "shard": None,
            "status": status,
            "started": f"2026-12-01T10:00:{start:02d}.000+00:00",
            "finished": f"2026-12-01T10:00:{start + seconds:02d}.000+00:00",
            "duration_s": float(seconds),
            "log": f"logs/{name}.log",
            "artifacts": [],
            "detail": "1 failed" if status == "failed" else "",
        }

    report = {
        "run_id": "r-chromium",
        "git_sha": "0123456789abcdef",
        "engine": "docker",
        "status": "failed",
        "started": "2026-12-01T10:00:00.000+00:00",
        "finished": "2026-12-01T10:00:40.000+00:00",
        "duration_s": 40.0,
        "jobs": [job("tests-api", "pytest", 1, 25, "failed"), job("build-backend", "build", 1, 38)],
        "tests": {"passed": 20, "failed": 1, "skipped": 0, "errors": 0, "flaky": 0},
        "coverage": {"percent": 88.0},
        "critical_path": ["build-backend"],
        "failures": [{"test": FAILING, "job": "tests-api", "reproduce": REPRODUCE}],
        "flaky_tests": [],
        "quarantined_tests": [],
    }
    (report_dir / "logs").mkdir(parents=True)
    (report_dir / "logs" / "tests-api.log").write_text(LOG, encoding="utf-8")
    timeline.write_timeline(report, report_dir)
    html.write_html(report, report_dir)
    return report


class _DomText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script", "title", "head"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title", "head"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def test_chromium_renders_the_failing_test_and_its_reproduce_command(tmp_path: Path) -> None:
    browser = chromium()
    synthetic_run(tmp_path)
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",  # we run as root in CI
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--dump-dom",
                (tmp_path / "report.html").as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = _DomText()
    dom.feed(result.stdout)
    text = "".join(dom.parts)
    assert FAILING in text
    assert REPRODUCE in text
    assert "E       assert 409 == 200" in text
    # The browser built the inline SVG into the page, one bar per job.
    bars = sorted(a["data-job"] or "" for tag, a in dom.tags if tag == "rect" and "data-job" in a)
    assert bars == ["build-backend", "tests-api"]
