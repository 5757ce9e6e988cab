"""Issue 15's done-when, on real runs (real Docker Engine) of a small generated project
with a slow-ish test job and one failing test:

- under a pseudo-terminal the live view updates while the test job runs;
- in GitHub Actions (``GITHUB_ACTIONS``, ``GITHUB_STEP_SUMMARY``) the summary is
  appended and exactly one ``::error`` is obeyed, at the failing test's file and line;
- every run's report dir holds the timeline picture, one bar per job, the critical
  path marked, the test job's xdist workers under it;
- report.html, opened in headless Chromium, shows the failing test and its reproduce
  command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docker
import pexpect
import pytest

# The first run builds the project's small test image (pip install pytest, xdist).
pytestmark = pytest.mark.timeout(900)

TEST_FILE = """\
import time

import pytest


@pytest.mark.parametrize("i", range(24))
def test_slow(i):
    time.sleep(0.3)


def test_fails():
    print("::error::forged by a test's output")
    assert 1 + 1 == 3
"""
FAILING = "tests/test_demo.py::test_fails"
REPRODUCE = f"python -m pipeline reproduce {FAILING} --job tests"
# The project sits below the repository's root, as in a monorepo: paths must say so.
WHERE = "services/shop"
PIPELINE = """\
project: {name: seesdemo, root: app}
ca_bundle: /etc/ssl/certs/ca-certificates.crt
images:
  test_base: {dockerfile: Dockerfile.test, context: ., key_files: [Dockerfile.test]}
  aliases: {python:3.11-slim: slipway/python:3.11}
stages:
  - name: lint
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print('lint ok')"]]
  - name: tests
    kind: pytest
    paths: [tests]
    workers: 2
  - name: publish
    kind: command
    image: python:3.11-slim
    needs: [tests, lint]
    commands: [["true"]]
"""
DOCKERFILE = """\
FROM python:3.11-slim
RUN python -m pip install --no-cache-dir "pytest>=8,<10" "pytest-xdist>=3.6,<4"
"""
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        client.images.get("slipway/python:3.11")
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a Docker Engine and `python -m pipeline images bootstrap`: {exc}")
    root = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    project = root / WHERE
    (project / "app/tests").mkdir(parents=True)
    (project / "app/tests/test_demo.py").write_text(TEST_FILE)
    (project / "pipeline.yaml").write_text(PIPELINE)
    (project / "Dockerfile.test").write_text(DOCKERFILE)
    return root


def environment(**extra: str) -> dict[str, str]:
    # Whatever CI runs these tests, the run under test sees only the CI we give it.
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith(("GITHUB_", "GITLAB_"))}
    return {**env, "GIT_SHA": "c" * 40, **extra}


@pytest.fixture(scope="module")
def github_run(repo: Path) -> tuple[Run, Path]:
    summary = repo.parent / f"{repo.name}-step-summary.md"
    summary.write_text("text an earlier step wrote\n")
    env = environment(
        CI="true", GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary), GITHUB_WORKSPACE=str(repo)
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--engine", "docker", "--no-cache", "--report-dir", "gh"],
        cwd=repo / WHERE, env=env, capture_output=True, text=True, timeout=800, check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, repo / WHERE / "gh"), summary


def obeyed(lines: list[str], command: str) -> list[str]:
    """The workflow commands GitHub's runner acts on: at a line's start, outside a
    ``::stop-commands::`` section."""
    found, stopped = [], None
    for line in lines:
        if stopped is not None:
            stopped = None if line == f"::{stopped}::" else stopped
        elif line.startswith("::stop-commands::"):
            stopped = line.removeprefix("::stop-commands::")
        elif line.startswith(f"::{command}"):
            found.append(line)
    return found


def test_github_gets_the_summary_and_exactly_one_error_at_the_test(github_run: tuple[Run, Path]) -> None:
    run, summary = github_run
    assert run.code == 1, run.stdout[-3000:] + run.stderr[-3000:]
    lines = (run.stdout + run.stderr).splitlines()
    [error] = obeyed(lines, "error")
    props, message = error.removeprefix("::error ").split("::", 1)
    fields = dict(p.split("=", 1) for p in props.split(","))
    line = TEST_FILE.splitlines().index("def test_fails():") + 1
    assert fields["file"] == f"{WHERE}/app/tests/test_demo.py"
    assert fields["line"] == str(line)
    assert "test_fails" in fields["title"]
    assert "Reproduce: " + REPRODUCE in message.replace("%0A", "\n")
    # The test printed a workflow command of its own: it is in the log, never obeyed.
    assert "::error::forged by a test's output" in lines
    text = summary.read_text()
    assert text.startswith("text an earlier step wrote\n")
    assert "Slipway: failed" in text and FAILING in text and REPRODUCE in text
    assert "```mermaid\ngantt" in text


def test_ci_streams_each_jobs_log_and_groups_it_whole_at_its_end(github_run: tuple[Run, Path]) -> None:
    run, _ = github_run
    lines = run.stderr.splitlines()
    end = lines.index(next(line for line in lines if line.startswith("[failed] tests ")))
    streamed = [i for i, line in enumerate(lines) if line.startswith("tests   | ")]
    assert streamed and streamed[0] < end, "the test job's log was not streamed while it ran"
    assert any("1 failed, 24 passed" in lines[i] for i in streamed)
    assert lines[end + 1].startswith("::group::tests: failed")
    assert lines[end + 2].startswith("::stop-commands::")
    group_end = lines.index("::endgroup::", end)
    assert any("1 failed, 24 passed" in line for line in lines[end:group_end])


def test_ci_junit_names_the_repository_path_and_line(github_run: tuple[Run, Path]) -> None:
    run, _ = github_run
    for path in (run.report_dir / "junit.xml", run.report_dir / "junit/tests.xml"):
        [case] = [c for c in ET.parse(path).getroot().iter("testcase") if c.get("name") == "test_fails"]
        assert case.get("classname") == "tests.test_demo"
        assert case.get("file") == f"{WHERE}/app/tests/test_demo.py"
        assert case.get("line") == str(TEST_FILE.splitlines().index("def test_fails():") + 1)


def timeline_bars(report_dir: Path) -> tuple[list[ET.Element], list[ET.Element]]:
    root = ET.parse(report_dir / "timeline.svg").getroot()
    rects = list(root.iter("{http://www.w3.org/2000/svg}rect"))
    return [r for r in rects if r.get("data-job")], [r for r in rects if r.get("data-worker-of")]


def test_the_timeline_has_one_bar_per_job_and_marks_the_critical_path(github_run: tuple[Run, Path]) -> None:
    run, _ = github_run
    report = run.report
    bars, workers = timeline_bars(run.report_dir)
    assert sorted(b.get("data-job") or "" for b in bars) == sorted(j["name"] for j in report["jobs"])
    critical = {b.get("data-job") for b in bars if b.get("data-critical") == "true"}
    assert critical == set(report["critical_path"]) and "tests" in critical
    assert {b.get("data-job"): b.get("data-status") for b in bars} == {
        "lint": "success", "tests": "failed", "publish": "skipped",
    }
    # The test job's xdist workers, from the progress plugin's timings.
    tests = next(j for j in report["jobs"] if j["name"] == "tests")
    assert len(tests["worker_timings"]) == 2 and sum(w["tests"] for w in tests["worker_timings"]) == 25
    assert sorted(w.get("data-worker") or "" for w in workers) == ["gw0", "gw1"]
    assert (run.report_dir / "timeline.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"timeline: {Path('gh') / 'timeline.svg'}, {Path('gh') / 'timeline.png'}" in run.stdout
    assert f"report.html: {Path('gh') / 'report.html'}" in run.stdout


# -- report.html in a real browser ------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium is not installed (scripts/setup-machine installs Debian's chromium)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
        raise AssertionError(reason)  # pytest.fail/skip raise; this line is for the type checker
    return found


class _DomText(HTMLParser):
    """The text a person sees (no head, style or script) and every element's attributes."""

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


def test_chromium_shows_the_failing_test_and_its_reproduce_command(github_run: tuple[Run, Path]) -> None:
    browser = chromium()
    run, _ = github_run
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", (run.report_dir / "report.html").as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = _DomText()
    dom.feed(result.stdout)
    text = "".join(dom.parts)
    assert FAILING in text
    assert REPRODUCE in text
    assert "assert (1 + 1) == 3" in text  # the log excerpt of that failure
    bars = sorted(a["data-job"] or "" for tag, a in dom.tags if tag == "rect" and "data-job" in a)
    assert bars == ["lint", "publish", "tests"]


# -- the live view under a pseudo-terminal ----------------------------------------------------------


def test_the_live_view_counts_tests_while_the_job_runs(repo: Path, github_run: tuple[Run, Path]) -> None:
    # github_run first: the test image is built by then, so this run is all tests.
    child = pexpect.spawn(
        sys.executable,
        ["-m", "pipeline", "run", "--engine", "docker", "--no-cache", "--only", "tests",
         "--report-dir", "live"],
        cwd=str(repo / WHERE), env=environment(TERM="xterm-256color"), dimensions=(40, 200),
        encoding="utf-8", codec_errors="replace", timeout=600,
    )
    chunks: list[str] = []  # the terminal's bytes in the order they came: frames in time order
    while True:
        try:
            chunks.append(child.read_nonblocking(65536, timeout=600))
        except pexpect.EOF:
            break
    child.close()
    assert child.exitstatus == 1, "".join(chunks)[-3000:]
    screen = _ANSI.sub("", "".join(chunks))
    rows = [line for line in re.split(r"[\r\n]+", screen) if re.search(r"\btests\b.*(running|failed)", line)]
    seen: list[tuple[str, int]] = []  # (state, tests done) of each drawn row, in order
    for row in rows:
        count = re.search(r"(\d+)/25 tests", row)
        if count:
            seen.append(("running" if "running" in row else "failed", int(count.group(1))))
    while_running = [done for state, done in seen if state == "running"]
    assert while_running, f"no frame showed the test job running with counts: {rows[-5:]}"
    moving = sorted({done for done in while_running if 0 < done < 25})
    assert len(moving) >= 2, f"the counts did not move while the job ran: {seen}"
    first_end = next(i for i, (state, _) in enumerate(seen) if state == "failed")
    assert all(state == "running" for state, _ in seen[:first_end])
    assert seen[first_end][1] == 25 and "1 failed" in next(r for r in rows if "failed" in r and "25/25" in r)
    # The same run wrote its report, timeline included.
    bars, _ = timeline_bars(repo / WHERE / "live")
    assert [b.get("data-job") for b in bars] == ["tests"]
    assert (repo / WHERE / "live/timeline.png").is_file()
