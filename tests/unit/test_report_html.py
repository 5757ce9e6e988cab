"""report.html: the failing test and its reproduce command as text, log excerpts, shards
of a merged run, escaping, and nothing that would load from the network."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pipeline.reports import html

FAILING = "tests/integration/test_orders.py::test_refund[partial]"
REPRODUCE = f"python -m pipeline reproduce '{FAILING}' --job tests-integration-2"
LOG = """\
=================================== FAILURES ===================================
____________________________ test_other ____________________________
E       assert False
_______________________________ test_refund[partial] _______________________________
[gw1] linux -- Python 3.11.7 /usr/local/bin/python

    def test_refund(client, order, kind):
>       assert response.status_code == 200
\x1b[31mE       assert 409 == 200\x1b[0m

tests/integration/test_orders.py:57: AssertionError
------------------ generated xml file: /slipway/out/junit.xml ------------------
=========================== short test summary info ============================
FAILED tests/integration/test_orders.py::test_refund[partial] - assert 409 == 200
"""


def job(name: str, status: str = "success", **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "stage": extra.pop("stage", name),
        "kind": extra.pop("kind", "pytest"),
        "shard": extra.pop("shard", None),
        "status": status,
        "started": "2026-12-01T10:00:01.000+00:00",
        "finished": "2026-12-01T10:00:21.000+00:00",
        "duration_s": 20.0,
        "log": f"logs/{name}.log",
        "artifacts": [],
    }
    entry.update(extra)
    return entry


def report(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": "r-7",
        "git_sha": "0123456789abcdef",
        "engine": "docker",
        "status": "failed",
        "started": "2026-12-01T10:00:00.000+00:00",
        "finished": "2026-12-01T10:00:30.000+00:00",
        "duration_s": 30.0,
        "jobs": [
            job("tests-integration-1", stage="tests-integration", shard="1/2", test_seconds=30.5),
            job("tests-integration-2", "failed", stage="tests-integration", shard="2/2", detail="1 failed"),
            job("build", kind="build"),
        ],
        "tests": {"passed": 40, "failed": 1, "skipped": 0, "errors": 0, "flaky": 1},
        "coverage": {"percent": 84.5},
        "coverage_threshold": 80.0,
        "critical_path": ["build"],
        "failures": [{"test": FAILING, "job": "tests-integration-2", "reproduce": REPRODUCE}],
        "flaky_tests": [{"test": "tests/unit/test_cache.py::test_expiry", "job": "tests-integration-1"}],
        "quarantined_tests": [{"test": "tests/api/test_slow.py::test_timeout", "job": "tests-integration-1"}],
        "shards": {"tests-integration": {"imbalance": 1.04, "shards": []}},
    }
    base.update(extra)
    return base


class _Text(HTMLParser):
    """The page's visible text (what a person reads), as a browser would show it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def test_failing_test_and_reproduce_command_are_on_the_page() -> None:
    page = html.render_html(report(), logs={"tests-integration-2": LOG})
    text = visible_text(page)
    assert FAILING in text
    assert REPRODUCE in text
    # The excerpt is this test's block of the log, colour codes gone, nothing of the other test.
    assert "E       assert 409 == 200" in text
    assert "tests/integration/test_orders.py:57: AssertionError" in text
    assert "test_other" not in text and "generated xml file" not in text
    assert "\x1b" not in page


def test_no_external_resources() -> None:
    page = html.render_html(
        report(), timeline_svg='<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    )
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", page, re.IGNORECASE)
    assert not re.search(r"@import|url\(", page, re.IGNORECASE)
    for attr, value in re.findall(r"\b(src|href|action)\s*=\s*[\"']([^\"']*)", page, re.IGNORECASE):
        assert not re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", value, re.IGNORECASE), (attr, value)
    # The only absolute URL is the SVG namespace, which no browser fetches.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "<?xml" not in page  # inlined SVG starts at <svg>


def test_names_and_logs_are_escaped() -> None:
    evil = "tests/t.py::test_x[<script>alert(1)</script>]"
    page = html.render_html(
        report(failures=[{"test": evil, "job": "tests-integration-2", "reproduce": f"reproduce '{evil}'"}]),
        logs={"tests-integration-2": "<b>not bold</b>"},
    )
    assert "<script>" not in page and "<b>not bold</b>" not in page
    assert evil in visible_text(page)


def test_jobs_coverage_flaky_quarantined() -> None:
    text = visible_text(html.render_html(report()))
    for name in ("tests-integration-1", "tests-integration-2", "build"):
        assert name in text
    assert "20.0 s" in text and "+1.0 s" in text
    assert "84.5%" in text and "threshold 80.0%" in text
    assert "tests/unit/test_cache.py::test_expiry" in text
    assert "tests/api/test_slow.py::test_timeout" in text
    assert "Critical path" in text


def test_failed_job_without_failing_tests_shows_its_log() -> None:
    jobs = [job("build-frontend", "failed", kind="build", detail="npm ci exited 1")]
    text = visible_text(
        html.render_html(report(jobs=jobs, failures=[]), logs={"build-frontend": "npm ERR! code E404\n"})
    )
    assert "Failed jobs" in text and "npm ci exited 1" in text and "npm ERR! code E404" in text


def test_merged_run_lists_every_shard_with_its_run() -> None:
    jobs = [
        # merge-reports lists each source's jobs in turn; the page sorts shards by index.
        job("tests-unit-3", "failed", stage="tests-unit", shard="3/3", run_id="run-a"),
        job("tests-unit-1", stage="tests-unit", shard="1/3", run_id="run-b"),
        job("tests-unit-2", stage="tests-unit", shard="2/3", run_id="run-c"),
    ]
    merged = report(
        run_id="run-a+run-b+run-c",
        jobs=jobs,
        merged_from=["out/a", "out/b", "out/c"],
        shards={"tests-unit": {"imbalance": 1.2, "test_imbalance": 1.1, "shards": []}},
        failures=[],
    )
    text = visible_text(html.render_html(merged))
    rows = re.findall(r"([123]/3)tests-unit-\d(run-[abc])", text.replace("\n", ""))
    assert rows == [("1/3", "run-b"), ("2/3", "run-c"), ("3/3", "run-a")]
    assert "imbalance (longest / mean wall time) 1.20" in text
    for run, source in (("run-a", "out/a"), ("run-b", "out/b"), ("run-c", "out/c")):
        assert f"{run}{source}" in text.replace("\n", "")


def test_log_excerpt_falls_back_to_the_tail() -> None:
    log = "\n".join(f"line {i}" for i in range(200))
    excerpt = html.log_excerpt(log, "tests/t.py::test_missing", max_lines=20)
    assert excerpt.splitlines()[-1] == "line 199"
    assert len(excerpt.splitlines()) <= 21
    long_block = "___ test_a ___\n" + "\n".join(f"x{i}" for i in range(100))
    clipped = html.log_excerpt(long_block, "t.py::test_a", max_lines=20).splitlines()
    assert clipped[0] == "___ test_a ___" and clipped[-1] == "x99" and "left out" in "".join(clipped)


def test_log_excerpt_leaves_event_lines_out() -> None:
    # Dagger writes a job's output whole at its end, the progress plugin's lines with it.
    log = 'collected 3 items\n##slipway:progress {"done": 3, "total": 3, "failed": 1}\nFAILED t.py::test_a\n'
    assert html.log_excerpt(log) == "collected 3 items\nFAILED t.py::test_a"


def test_write_html_inlines_the_timeline_and_reads_logs(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "tests-integration-2.log").write_text(LOG, encoding="utf-8")
    (tmp_path / "timeline.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><rect data-job="build"/></svg>', encoding="utf-8"
    )
    path = html.write_html(report(), tmp_path)
    assert path == tmp_path / "report.html"
    page = path.read_text(encoding="utf-8")
    assert '<rect data-job="build"/>' in page
    assert "assert 409 == 200" in visible_text(page)
