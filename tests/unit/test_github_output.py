"""GitHub Actions output: annotations at the test's file and line, escaping, limits,
the step summary appended (never overwritten), and log groups per CI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.reports import github

# The run's JUnit as Slipway writes it for CI (reports/junit.py's ci_copy of what pytest 9
# writes with junit_family=xunit1): ``file`` from the repository's root, ``line`` 1-based.
JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="slipway">
  <testsuite name="tests-api" tests="2" failures="1" errors="0" skipped="0">
    <testcase classname="tests.api.test_orders" name="test_ok"
              file="examples/inventory/backend/tests/api/test_orders.py" line="4" time="0.01"/>
    <testcase classname="tests.api.test_orders.TestRefund" name="test_partial[a:b]"
              file="examples/inventory/backend/tests/api/test_orders.py" line="12" time="0.02">
      <failure message="assert 2 == 1">tests/api/test_orders.py:14: AssertionError</failure>
    </testcase>
  </testsuite>
</testsuites>
"""
FAILING = "tests/api/test_orders.py::TestRefund::test_partial[a:b]"
REPRODUCE = f"python -m pipeline reproduce '{FAILING}' --job tests-api"
PATHS = github.PathMap(project_dir="examples/inventory", workdirs={"tests-api": "backend"})


def report(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": "r-1",
        "git_sha": "abcdef1234567890",
        "engine": "docker",
        "status": "failed",
        "started": "2026-12-01T10:00:00.000+00:00",
        "finished": "2026-12-01T10:00:30.000+00:00",
        "duration_s": 30.0,
        "jobs": [
            {
                "name": "tests-api",
                "stage": "tests-api",
                "kind": "pytest",
                "shard": None,
                "status": "failed",
                "started": "2026-12-01T10:00:01.000+00:00",
                "finished": "2026-12-01T10:00:25.000+00:00",
                "duration_s": 24.0,
                "log": "logs/tests-api.log",
                "artifacts": [],
                "detail": "1 failed",
            },
            {
                "name": "build",
                "stage": "build",
                "kind": "build",
                "shard": None,
                "status": "success",
                "started": "2026-12-01T10:00:01.000+00:00",
                "finished": "2026-12-01T10:00:29.000+00:00",
                "duration_s": 28.0,
                "log": "logs/build.log",
                "artifacts": [],
            },
        ],
        "tests": {"passed": 1, "failed": 1, "skipped": 0, "errors": 0, "flaky": 0},
        "coverage": {"percent": 81.25},
        "critical_path": ["build"],
        "failures": [{"test": FAILING, "job": "tests-api", "reproduce": REPRODUCE}],
        "flaky_tests": [],
        "quarantined_tests": [],
        "junit": "junit.xml",
    }
    base.update(extra)
    return base


def github_env(tmp_path: Path) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}


def test_one_failing_test_is_one_error_at_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT, encoding="utf-8")
    out: list[str] = []
    github.emit_github(report(), tmp_path, paths=PATHS, env=github_env(tmp_path), write=out.append)
    errors = [line for line in out if line.startswith("::error")]
    assert len(errors) == 1
    props, message = errors[0][len("::error ") :].split("::", 1)
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert fields["file"] == "examples/inventory/backend/tests/api/test_orders.py"
    assert fields["line"] == "12"
    assert "test_partial[a%3Ab]" in fields["title"]
    assert "assert 2 == 1" in message
    assert "%0A%0AReproduce: python -m pipeline reproduce" in message
    assert not [line for line in out if line.startswith("::warning")]


def test_nothing_outside_github_actions(tmp_path: Path) -> None:
    out: list[str] = []
    assert github.emit_github(report(), tmp_path, env={"CI": "woodpecker"}, write=out.append) == 0
    assert out == []
    assert not (tmp_path / "summary.md").exists()


def test_junit_locations_read_xunit1() -> None:
    locations = {loc.node_id: loc for loc in github.junit_locations(JUNIT)}
    assert set(locations) == {"tests/api/test_orders.py::test_ok", FAILING}
    failing = locations[FAILING]
    assert (failing.suite, failing.file, failing.line) == (
        "tests-api",
        "examples/inventory/backend/tests/api/test_orders.py",
        12,
    )
    assert failing.message == "assert 2 == 1"
    assert github.junit_locations("<not xml") == []


def test_line_from_source_when_junit_has_none(tmp_path: Path) -> None:
    source = tmp_path / "examples/inventory/backend/tests/api/test_orders.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "import pytest\n\n\nclass TestRefund:\n    @pytest.mark.parametrize('x', ['a:b'])\n"
        "    def test_partial(self, x):\n        assert x\n",
        encoding="utf-8",
    )
    [error] = github.annotations_for(report(jobs=[]), paths=replace(PATHS, repo_root=tmp_path))
    assert error.file == "examples/inventory/backend/tests/api/test_orders.py"
    assert error.line == 5  # the decorator's line, as pytest reports it
    assert github.find_test_line("def test_a():\n    pass\n", "t.py::test_a") == 1
    assert github.find_test_line("x = 1\n", "t.py::test_missing") is None
    assert github.find_test_line("def (:\n", "t.py::test_a") is None


def test_paths_map_back_from_the_container() -> None:
    assert PATHS.to_repo("/src/backend/tests/x.py") == "examples/inventory/backend/tests/x.py"
    assert PATHS.to_repo("tests/x.py", stage="tests-api") == "examples/inventory/backend/tests/x.py"
    assert PATHS.to_repo("tests/x.py", stage="other") == "examples/inventory/tests/x.py"
    assert github.PathMap().to_repo("/src/tests/x.py") == "tests/x.py"
    assert PATHS.to_repo("/usr/lib/python3/site.py") is None
    assert PATHS.to_repo("/srcfoo/x.py") is None
    assert github.PathMap().to_repo("../../etc/passwd") is None


def test_escaping_follows_the_actions_toolkit() -> None:
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = github.Annotation(
        level="error", title="x: y, z", message="line 1\nline 2: 50%", file="a,b.py", line=3
    ).render()
    assert line == "::error file=a%2Cb.py,line=3,title=x%3A y%2C z::line 1%0Aline 2: 50%25"
    assert "\n" not in line
    # A line without a file has no line property either.
    assert github.Annotation(level="warning", message="m", line=4).render() == "::warning::m"


def test_at_most_what_github_shows() -> None:
    failures = [{"test": f"tests/t.py::test_{i}", "job": "tests-api", "reproduce": "r"} for i in range(15)]
    flaky = [{"test": f"tests/t.py::test_f{i}", "job": "tests-api"} for i in range(12)]
    found = github.annotations_for(report(failures=failures, flaky_tests=flaky), paths=PATHS)
    levels = [a.level for a in found]
    assert levels.count("error") == github.ANNOTATIONS_PER_KIND == 10
    assert levels.count("warning") == 10
    [notice] = [a for a in found if a.level == "notice"]
    assert "5 more errors and 2 more warnings" in notice.message


def test_failed_jobs_and_checks_without_a_failing_test() -> None:
    jobs = report()["jobs"] + [
        {
            "name": "build-frontend",
            "stage": "build-frontend",
            "status": "failed",
            "detail": "npm ci exited 1",
            "log": "logs/build-frontend.log",
        }
    ]
    found = github.annotations_for(
        report(jobs=jobs, failed_checks=["coverage 70.0% is below the threshold 80.0%"]), paths=PATHS
    )
    titles = [a.title for a in found if a.level == "error"]
    # The failing test stands for its job; the build failure and the check get one each.
    assert titles == [
        "test_partial[a:b] failed (tests-api)",
        "job build-frontend failed",
        "check failed",
    ]


def test_flaky_and_quarantined_are_warnings() -> None:
    found = github.annotations_for(
        report(
            failures=[],
            flaky_tests=[{"test": "tests/api/test_orders.py::test_ok", "job": "tests-api"}],
            quarantined_tests=[{"test": FAILING, "job": "tests-api"}],
        ),
        locations=github.junit_locations(JUNIT),
        paths=PATHS,
    )
    warnings = [a for a in found if a.level == "warning"]
    assert [(a.file, a.line) for a in warnings] == [
        ("examples/inventory/backend/tests/api/test_orders.py", 4),
        ("examples/inventory/backend/tests/api/test_orders.py", 12),
    ]
    assert "quarantined" in (warnings[1].title or "")


def test_summary_is_appended_not_overwritten(tmp_path: Path) -> None:
    env = github_env(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("# from an earlier step\n", encoding="utf-8")
    assert github.append_step_summary(report(), env) == summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# from an earlier step\n")
    assert FAILING in text and REPRODUCE in text
    assert "| tests-api | ❌ failed | +1.0 s | 24.0 s |" in text
    assert "**Coverage:** 81.2%" in text or "**Coverage:** 81.3%" in text
    assert "```mermaid\ngantt" in text
    github.append_step_summary(report(), env)
    assert summary.read_text(encoding="utf-8").count("### Failing tests") == 2
    assert github.append_step_summary(report(), {}) is None


def test_summary_fits_githubs_limit(tmp_path: Path) -> None:
    failures = [
        {
            "test": f"tests/t.py::test_{i}",
            "job": "tests-api",
            "reproduce": "python -m pipeline reproduce x" * 5,
        }
        for i in range(500)
    ]
    text = github.step_summary(report(failures=failures), max_bytes=20_000)
    assert len(text.encode("utf-8")) <= 20_000
    assert "more: see report.html" in text
    # A summary file already near GitHub's 1 MiB gets nothing rather than an upload GitHub refuses.
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (github.SUMMARY_LIMIT_BYTES - 100))
    assert github.append_step_summary(report(), github_env(tmp_path)) is None
    assert summary.stat().st_size == github.SUMMARY_LIMIT_BYTES - 100


def test_summary_markdown_is_escaped() -> None:
    text = github.step_summary(
        report(failures=[{"test": "t.py::test_`x`|y", "job": "a|b", "reproduce": "echo ```"}])
    )
    assert "``t.py::test_`x`|y``" in text
    assert "in a\\|b" in text
    assert "````sh" in text  # a longer fence than the command's own backticks


def test_mermaid_gantt_marks_failures_and_the_critical_path() -> None:
    chart = github.mermaid_gantt(report())
    assert chart is not None
    lines = chart.splitlines()
    assert lines[:2] == ["gantt", "    dateFormat HH:mm:ss"]
    assert "    tests-api :crit, j0, 00:00:01, 00:00:25" in lines
    assert "    ★ build :j1, 00:00:01, 00:00:29" in lines
    assert github.mermaid_gantt(report(jobs=[])) is None


@pytest.mark.parametrize(
    ("env", "flavor"),
    [
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"CI": "woodpecker", "CI_PIPELINE_NUMBER": "3"}, "plain"),
        ({}, "plain"),
    ],
)
def test_ci_flavor(env: dict[str, str], flavor: str) -> None:
    assert github.ci_flavor(env) == flavor


def test_log_groups() -> None:
    lines: list[str] = []
    with github.log_group("tests: api", flavor="github", write=lines.append, guard_token="t0k"):
        lines.append("::error::forged by a test's output")
    assert lines == [
        "::group::tests: api",
        "::stop-commands::t0k",
        "::error::forged by a test's output",
        "::t0k::",
        "::endgroup::",
    ]
    lines.clear()
    with github.log_group("build", flavor="plain", write=lines.append, guard_token="t0k"):
        lines.append("x")
    assert lines == ["--- build ---", "x"]
    start = github.group_start("tests: api", "gitlab", now=1700000000)
    end = github.group_end("tests: api", "gitlab", now=1700000005)
    assert start == "\x1b[0Ksection_start:1700000000:tests_api[collapsed=true]\r\x1b[0Ktests: api"
    assert end == "\x1b[0Ksection_end:1700000005:tests_api\r\x1b[0K"
    assert github.group_start("a%\nb", "github") == "::group::a%25%0Ab"


def test_rootdir_above_the_workdir(tmp_path: Path) -> None:
    # pytest's rootdir is the project root here (its ini file), so JUnit paths start there.
    source = tmp_path / "examples/inventory/tests/api/test_orders.py"
    source.parent.mkdir(parents=True)
    source.write_text("class TestRefund:\n    def test_partial(self):\n        pass\n", encoding="utf-8")
    [error] = github.annotations_for(report(jobs=[]), paths=replace(PATHS, repo_root=tmp_path))
    assert (error.file, error.line) == ("examples/inventory/tests/api/test_orders.py", 2)


def test_the_jobs_rootdir_maps_a_test_without_junit(tmp_path: Path) -> None:
    # Both readings exist on disk; the rootdir the progress plugin reported decides.
    for folder in ("examples/inventory/tests/api", "examples/inventory/backend/tests/api"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "test_orders.py").write_text(
            "class TestRefund:\n    def test_partial(self):\n        pass\n", encoding="utf-8"
        )
    paths = replace(PATHS, repo_root=tmp_path)
    guessed = report(jobs=[report()["jobs"][0]])
    [error] = github.annotations_for(guessed, paths=paths)
    assert error.file == "examples/inventory/backend/tests/api/test_orders.py"  # the stage's workdir
    told = report(jobs=[{**report()["jobs"][0], "pytest_rootdir": "/src"}])
    [error] = github.annotations_for(told, paths=paths)
    assert (error.file, error.line) == ("examples/inventory/tests/api/test_orders.py", 2)
