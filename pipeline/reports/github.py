"""What a run shows in CI: the GitHub step summary, annotations, and log groups.

- ``step_summary(report)``: Markdown for ``$GITHUB_STEP_SUMMARY`` (jobs, durations,
  totals, failing tests with their reproduce command, the timeline). The summary
  cannot show our own picture: GitHub's Markdown sanitizer drops ``data:`` image
  URIs and inline SVG, and an artifact has no URL an ``<img>`` could use while the
  run is still going. It does render Mermaid, so the timeline there is a Mermaid
  ``gantt`` chart; timeline.png / report.html stay in the report artifact.
- ``annotations_for(report, ...)``: each failing test becomes ``::error file=,line=,
  title=::``, the path mapped from the container back to the repository, the line
  of the test function; flaky and quarantined tests become ``::warning``. GitHub
  shows 10 error, 10 warning and 10 notice annotations per step (50 per job), so we
  print at most that many of each and one notice that says how many were left out.
- ``group_start`` / ``group_end`` / ``log_group``: ``::group::`` in GitHub,
  collapsible sections in GitLab, ``--- NAME ---`` headers elsewhere (Woodpecker).

Test locations come from pytest's JUnit XML (``junit_locations``): the xunit1
family that Slipway writes has ``file`` and ``line`` on every testcase (``line``
is 0-based there); without them the node id gives the file and the test's source
the line (``find_test_line``). Everything here is a pure function of its inputs,
except the few helpers named ``append_*``/``emit_*``/``read_*`` that touch files.
"""

from __future__ import annotations

import ast
import math
import os
import posixpath
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

# GitHub's documented limits: annotations per step and kind, and a step summary's size.
ANNOTATIONS_PER_KIND = 10
SUMMARY_LIMIT_BYTES = 1024 * 1024
SUMMARY_FAILURES_SHOWN = 50
_MESSAGE_LINES = 12  # of a failure's message in an annotation: enough to read, not a wall

Level = Literal["error", "warning", "notice"]
Flavor = Literal["github", "gitlab", "plain"]

_ICON = {"success": "✅", "failed": "❌", "skipped": "⏭️", "cached": "♻️", "interrupted": "⏹️"}


# -- workflow commands ----------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, as actions/toolkit escapes it (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: the message's escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, message: str = "", **properties: str | int | None) -> str:
    """``::name key=value,...::message`` with every part escaped; None properties left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation:
    """One ``::error`` / ``::warning`` / ``::notice``; file is repository-relative, line 1-based."""

    level: Level
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None

    def render(self) -> str:
        return workflow_command(
            self.level,
            self.message,
            file=self.file,
            line=self.line if self.file else None,
            title=self.title,
        )


# -- where a test lives ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TestLocation:
    """A test case as pytest's JUnit names it: node id, file (relative to pytest's rootdir
    in the container, or absolute), 1-based line, and its failure message if any."""

    __test__ = False  # not a pytest test class, whatever its name says

    node_id: str
    suite: str = ""
    file: str | None = None
    line: int | None = None
    message: str = ""


def _node_id(classname: str, name: str, file: str | None) -> tuple[str, str]:
    """(node id, file) for a JUnit testcase, as pytest builds them (see reports/junit.py)."""
    if not classname:  # a collection error: name is the dotted module path
        path = file or name.replace(".", "/") + ".py"
        return path, path
    parts = classname.split(".")
    if file:
        cut = len(Path(file).with_suffix("").as_posix().replace("/", ".").split("."))
    else:
        cut = len(parts)
        while cut > 1 and parts[cut - 1][:1].isupper():
            cut -= 1
    path = file or "/".join(parts[:cut]) + ".py"
    return "::".join([path, *parts[cut:], name]), path


def junit_locations(source: Path | str) -> list[TestLocation]:
    """Every test case of a JUnit file (one suite or merged) with its file, line and message.

    ``source`` is a path or the XML text. Our own pytest writes these files, so
    ElementTree is safe enough here (expat fetches no external entity).
    """
    try:
        # Our own files: see the docstring.
        root = ET.parse(source).getroot() if isinstance(source, Path) else ET.fromstring(source)  # noqa: S314
    except (OSError, ET.ParseError):
        return []
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    out: list[TestLocation] = []
    for suite in suites:
        for case in suite.iter("testcase"):
            file_attr = case.get("file") or None
            node_id, path = _node_id(case.get("classname", ""), case.get("name", ""), file_attr)
            problem = next((c for c in case if c.tag in ("failure", "error")), None)
            line = case.get("line")
            out.append(
                TestLocation(
                    node_id=node_id,
                    suite=suite.get("name", ""),
                    file=path,
                    # xunit1 writes pytest's 0-based line; editors and GitHub count from 1.
                    line=int(line) + 1 if line and line.isdigit() else None,
                    message=(problem.get("message", "") if problem is not None else ""),
                )
            )
    return out


def file_of(node_id: str) -> str:
    """The file part of a pytest node id (``tests/x.py::T::test[a::b]`` -> ``tests/x.py``)."""
    return node_id.split("::", 1)[0]


def find_test_line(source: str, node_id: str) -> int | None:
    """The 1-based line pytest reports for the test ``node_id`` names in ``source``:
    its first decorator's, else its ``def``'s; None when it is not found."""
    parts = node_id.split("::")[1:]
    if not parts:
        return None
    names = [*parts[:-1], re.sub(r"\[.*\]$", "", parts[-1], flags=re.DOTALL)]
    try:
        body: list[ast.stmt] = ast.parse(source).body
    except (SyntaxError, ValueError):
        return None
    node: ast.stmt | None = None
    for name in names:
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
            ),
            None,
        )
        if node is None:
            return None
        body = node.body if isinstance(node, ast.ClassDef) else []
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


@dataclass(frozen=True, slots=True, kw_only=True)
class PathMap:
    """How a test's path maps back to the repository (GitHub's workspace).

    ``project_dir``: the project root relative to the repository root ("" when
    they are the same). ``container_root``: where the project root is copied in
    a job's container. ``workdirs``: per stage, pytest's rootdir relative to the
    project root (the stage's ``workdir``), which JUnit's relative paths start from.
    """

    project_dir: str = ""
    container_root: str = "/src"
    workdirs: Mapping[str, str] = field(default_factory=dict)

    def to_repo(self, path: str, *, stage: str | None = None) -> str | None:
        """The repository-relative path, or None for a path outside the project."""
        path = path.replace("\\", "/")
        if posixpath.isabs(path):
            root = self.container_root.rstrip("/") or "/"
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                return None
            inside = posixpath.relpath(path, root)
        else:
            inside = posixpath.join(self.workdirs.get(stage or "", "."), path)
        mapped = posixpath.normpath(posixpath.join(self.project_dir or ".", inside))
        return None if mapped == ".." or mapped.startswith("../") else mapped


# -- annotations ----------------------------------------------------------------------------------


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _short(node_id: str) -> str:
    return node_id.rsplit("::", maxsplit=1)[-1]


def _first_lines(text: str, count: int) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:count]) + ("\n..." if len(lines) > count else "")


class _Locator:
    """Finds a failing test's repository file and line from JUnit, else its source."""

    def __init__(self, locations: Sequence[TestLocation], paths: PathMap, repo_root: Path | None) -> None:
        self._by_suite = {(loc.suite, loc.node_id): loc for loc in locations}
        self._by_id = {loc.node_id: loc for loc in locations}
        self._paths = paths
        self._repo_root = repo_root

    def find(self, node_id: str, *, job: str, stage: str) -> tuple[str | None, int | None, str]:
        loc = self._by_suite.get((job, node_id)) or self._by_id.get(node_id)
        raw = loc.file if loc and loc.file else file_of(node_id)
        file = self._paths.to_repo(raw, stage=stage)
        if self._repo_root is not None and file and not (self._repo_root / file).is_file():
            # pytest's rootdir is where its ini file is, which can sit above the workdir.
            other = self._paths.to_repo(raw)
            if other and (self._repo_root / other).is_file():
                file = other
        line = loc.line if loc else None
        if line is None and file and self._repo_root is not None:
            try:
                source = (self._repo_root / file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                source = ""
            line = find_test_line(source, node_id)
        return file, line, loc.message if loc else ""


def annotations_for(
    report: Mapping[str, Any],
    *,
    locations: Sequence[TestLocation] = (),
    paths: PathMap | None = None,
    repo_root: Path | None = None,
    limit: int = ANNOTATIONS_PER_KIND,
) -> list[Annotation]:
    """The run's annotations, most useful first, at most ``limit`` of each level.

    Errors: each failing test (report["failures"]: ``{"test", "job", "reproduce"}``)
    at its file and line; then each failed job that has no failing test of its own
    (a build, a scan, a test job that wrote no JUnit), and each of
    report["failed_checks"]. Warnings: flaky tests (report["flaky_tests"]),
    failing quarantined tests (report["quarantined_tests"]) and report["warnings"].
    """
    locator = _Locator(locations, paths or PathMap(), repo_root)
    jobs = {str(j.get("name")): j for j in _entries(report.get("jobs"))}

    def stage_of(job: str) -> str:
        return str(jobs.get(job, {}).get("stage") or job)

    errors: list[Annotation] = []
    seen: set[tuple[str, str]] = set()
    for failure in _entries(report.get("failures")):
        test, job = str(failure.get("test", "")), str(failure.get("job", ""))
        if (job, test) in seen:
            continue
        seen.add((job, test))
        file, line, message = locator.find(test, job=job, stage=stage_of(job))
        body = _first_lines(message, _MESSAGE_LINES) if message else f"{test} failed"
        if failure.get("reproduce"):
            body += f"\n\nReproduce: {failure['reproduce']}"
        errors.append(
            Annotation(
                level="error", title=f"{_short(test)} failed ({job})", message=body, file=file, line=line
            )
        )
    jobs_with_failures = {job for job, _ in seen}
    for name, entry in jobs.items():
        if entry.get("status") == "failed" and name not in jobs_with_failures:
            detail = str(entry.get("detail") or "see its log")
            log = f" (log: {entry['log']})" if entry.get("log") else ""
            errors.append(Annotation(level="error", title=f"job {name} failed", message=detail + log))
    errors += [
        Annotation(level="error", title="check failed", message=str(check))
        for check in report.get("failed_checks") or []
    ]

    warnings: list[Annotation] = []
    for key, what in (("flaky_tests", "flaky"), ("quarantined_tests", "quarantined")):
        for entry in _entries(report.get(key)):
            test, job = str(entry.get("test", "")), str(entry.get("job", ""))
            file, line, _ = locator.find(test, job=job, stage=stage_of(job))
            message = (
                f"{test} failed, then passed on a rerun in {job}"
                if what == "flaky"
                else f"{test} failed in {job}; it is quarantined, so it does not fail the build"
            )
            warnings.append(
                Annotation(
                    level="warning", title=f"{what}: {_short(test)}", message=message, file=file, line=line
                )
            )
    warnings += [Annotation(level="warning", message=str(w)) for w in report.get("warnings") or []]

    out = errors[:limit] + warnings[:limit]
    left = max(0, len(errors) - limit), max(0, len(warnings) - limit)
    if any(left):
        out.append(
            Annotation(
                level="notice",
                title="more annotations than GitHub shows",
                message=f"{left[0]} more errors and {left[1]} more warnings are not annotated "
                f"(GitHub shows {limit} of each per step): see the job summary or report.html",
            )
        )
    return out


# -- step summary ---------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code that survives backticks in the text (CommonMark: a longer fence)."""
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(text: str, lang: str = "") -> list[str]:
    ticks = max(3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1)
    return ["`" * ticks + lang, text, "`" * ticks]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _seconds(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def step_summary(report: Mapping[str, Any], *, max_bytes: int = SUMMARY_LIMIT_BYTES) -> str:
    """The run as GitHub Markdown, at most ``max_bytes`` (the failing tests are cut first)."""
    jobs = _entries(report.get("jobs"))
    status = str(report.get("status", "?"))
    head = [
        f"## {_ICON.get(status, '')} Slipway: {status} · run {_cell(str(report.get('run_id', '?')))}",
        "",
        _facts(report, jobs),
        "",
    ]
    tests = report.get("tests")
    if isinstance(tests, Mapping):
        line = (
            f"**Tests:** {tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
            f"{tests.get('errors', 0)} errors, {tests.get('skipped', 0)} skipped, "
            f"{tests.get('flaky', 0)} flaky"
        )
        head += [line, ""]
    coverage = report.get("coverage")
    if isinstance(coverage, Mapping) and coverage.get("percent") is not None:
        threshold = report.get("coverage_threshold")
        head += [
            f"**Coverage:** {_seconds(coverage['percent']):.1f}%"
            + (f" (threshold {_seconds(threshold):.1f}%)" if threshold is not None else ""),
            "",
        ]
    head += [f"- ❌ {_cell(str(c))}" for c in report.get("failed_checks") or []]
    head += [f"- ⚠️ {_cell(str(w))}" for w in report.get("warnings") or []]

    tail = ["", "### Jobs", "", *_jobs_table(jobs, report), ""]
    chart = mermaid_gantt(report)
    if chart:
        tail += ["### Timeline", "", *_fenced(chart, "mermaid"), ""]
    tail += _test_lists(report)
    tail.append("_Full report: report.html, timeline.png and the logs in the run's report artifact._")

    failures = _entries(report.get("failures"))
    budget = max_bytes - _size("\n".join(head + tail) + "\n") - 512  # room for the "more" line
    section: list[str] = []
    if failures:
        section = ["### Failing tests", ""]
        shown = 0
        for failure in failures[:SUMMARY_FAILURES_SHOWN]:
            block = [
                f"- {_code(str(failure.get('test', '')))} in {_cell(str(failure.get('job', '')))}",
                "",
                *[f"  {line}" for line in _fenced(str(failure.get("reproduce", "")), "sh")],
                "",
            ]
            if _size("\n".join(section + block)) > budget:
                break
            section += block
            shown += 1
        if shown < len(failures):
            section += [f"_...and {len(failures) - shown} more: see report.html._", ""]
    text = "\n".join([*head, *section, *tail]) + "\n"
    if _size(text) > max_bytes:  # a report with thousands of jobs: keep what fits, whole lines
        text = text.encode("utf-8")[: max_bytes - 64].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        text += "\n\n_(cut: the step summary is limited to 1 MiB)_\n"
    return text


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _facts(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[str(job.get("status"))] = counts.get(str(job.get("status")), 0) + 1
    parts = [
        f"commit {_code(str(report.get('git_sha', ''))[:12])}",
        f"engine {report.get('engine', '?')}",
        f"{_seconds(report.get('duration_s')):.1f} s" if report.get("duration_s") is not None else "",
        f"{len(jobs)} jobs: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])),
    ]
    merged = report.get("merged_from")
    if merged:
        parts.append(f"merged from {len(merged)} reports")
    return " · ".join(p for p in parts if p)


def _jobs_table(jobs: Sequence[Mapping[str, Any]], report: Mapping[str, Any]) -> list[str]:
    critical = set(report.get("critical_path") or [])
    origin = _when(report.get("started"))
    rows = ["| job | status | starts at | duration | detail |", "|---|---|---:|---:|---|"]
    for job in jobs:
        status = str(job.get("status"))
        started = _when(job.get("started"))
        offset = ""
        if origin and started:
            try:
                offset = f"+{(started - origin).total_seconds():.1f} s"
            except TypeError:
                offset = ""
        name = _cell(str(job.get("name")))
        if job.get("shard"):
            name += f" ({_cell(str(job['shard']))})"
        if job.get("name") in critical:
            name = f"**{name}** ★"
        rows.append(
            f"| {name} | {_ICON.get(status, '')} {status} | {offset} | "
            f"{_seconds(job.get('duration_s')):.1f} s | {_cell(str(job.get('detail') or ''))[:300]} |"
        )
    if critical:
        rows += [
            "",
            f"★ critical path: {' → '.join(_cell(str(n)) for n in report.get('critical_path') or [])}",
        ]
    return rows


def _test_lists(report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, title in (("flaky_tests", "Flaky tests"), ("quarantined_tests", "Quarantined tests")):
        entries = _entries(report.get(key))
        if entries:
            out += [f"<details><summary>{title} ({len(entries)})</summary>", ""]
            out += [
                f"- {_code(str(e.get('test', '')))} in {_cell(str(e.get('job', '')))}" for e in entries[:200]
            ]
            out += ["", "</details>", ""]
    return out


_MERMAID_UNSAFE = re.compile(r"[:;#\n\r]")


def mermaid_gantt(report: Mapping[str, Any]) -> str | None:
    """The jobs that ran as a Mermaid gantt chart (GitHub renders Mermaid in summaries).

    Times are offsets from the run's start written as ``HH:mm:ss`` (mermaid 11
    misreads ``dateFormat X``; offsets also keep the reader's time zone out of
    it), one section per job kind. Failed jobs are ``crit`` (red), cached ones
    ``done`` (grey); the critical path is starred. None when no job ran.
    """
    critical = set(report.get("critical_path") or [])
    timed: list[tuple[datetime, datetime, Mapping[str, Any]]] = []
    for job in _entries(report.get("jobs")):
        start, end = _when(job.get("started")), _when(job.get("finished"))
        if start is not None and end is not None:
            timed.append((start, end, job))
    origin = _when(report.get("started"))
    try:
        origin = min([origin, *(t[0] for t in timed)] if origin else [t[0] for t in timed])
        rows = [((s - origin).total_seconds(), (e - origin).total_seconds(), j) for s, e, j in timed]
    except (TypeError, ValueError):  # no job ran, or naive and aware times mixed
        return None
    if not rows:
        return None
    by_kind: dict[str, list[tuple[float, float, Mapping[str, Any]]]] = {}
    for row in sorted(rows, key=lambda r: r[0]):
        by_kind.setdefault(_MERMAID_UNSAFE.sub(" ", str(row[2].get("kind") or "jobs")), []).append(row)
    longest = max(end for _, end, _ in rows)
    lines = [
        "gantt",
        "    dateFormat HH:mm:ss",
        f"    axisFormat {'%H:%M:%S' if longest >= 3600 else '%M:%S'}",
    ]
    lines.append("    todayMarker off")
    index = 0
    for kind, group in by_kind.items():
        lines.append(f"    section {kind}")
        for start_s, end_s, job in group:
            name = _MERMAID_UNSAFE.sub(" ", str(job.get("name")))
            if job.get("shard"):
                name += f" {job['shard']}"
            if job.get("name") in critical:
                name = f"★ {name}"
            tags = {"failed": "crit, ", "cached": "done, ", "skipped": "done, "}.get(
                str(job.get("status")), ""
            )
            # Whole seconds, at least one: a zero-length bar would not be drawn at all.
            first = max(0, math.floor(start_s))
            last = max(math.ceil(end_s), first + 1)
            lines.append(f"    {name} :{tags}j{index}, {_hms(first)}, {_hms(last)}")
            index += 1
    return "\n".join(lines)


def _hms(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{min(hours, 23):02d}:{rest // 60:02d}:{rest % 60:02d}"


def append_step_summary(report: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Path | None:
    """Append the summary to the file ``$GITHUB_STEP_SUMMARY`` names (other steps' text
    stays: the file is the step's, shared with whatever else wrote to it). None when unset."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        used = path.stat().st_size
    except OSError:
        used = 0
    room = SUMMARY_LIMIT_BYTES - used
    if room < 4096:  # GitHub drops a summary over its limit whole: better to add nothing
        return None
    text = step_summary(report, max_bytes=room - 2)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(("\n" if used else "") + text)
    return path


def emit_github(
    report: Mapping[str, Any],
    report_dir: Path,
    *,
    paths: PathMap | None = None,
    repo_root: Path | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> None:
    """In GitHub Actions: append the step summary and print the annotations.

    Reads ``report_dir/junit.xml`` (the merged JUnit) for the tests' lines.
    Does nothing outside GitHub Actions (``GITHUB_ACTIONS`` is not ``true``).
    """
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") != "true":
        return
    append_step_summary(report, env)
    junit = report_dir / str(report.get("junit") or "junit.xml")
    locations = junit_locations(junit) if junit.is_file() else []
    stream = out or sys.stdout
    for annotation in annotations_for(report, locations=locations, paths=paths, repo_root=repo_root):
        print(annotation.render(), file=stream)
    stream.flush()


# -- log groups -----------------------------------------------------------------------------------


def ci_flavor(env: Mapping[str, str] | None = None) -> Flavor:
    """Which log markup the CI reading our output understands."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI"):
        return "gitlab"
    return "plain"


def _section_name(name: str) -> str:
    # GitLab section names allow letters, digits, "_", "." and "-" only.
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "section"


def group_start(name: str, flavor: Flavor, *, now: float = 0.0) -> str:
    """The line that opens a collapsible group (a plain header where there is none)."""
    if flavor == "github":
        return workflow_command("group", name)
    if flavor == "gitlab":
        clean = name.replace("\r", " ").replace("\n", " ")
        return f"\x1b[0Ksection_start:{int(now)}:{_section_name(name)}[collapsed=true]\r\x1b[0K{clean}"
    return f"--- {name} ---"


def group_end(name: str, flavor: Flavor, *, now: float = 0.0) -> str | None:
    """The line that closes the group; None where nothing closes it (plain logs)."""
    if flavor == "github":
        return "::endgroup::"
    if flavor == "gitlab":
        return f"\x1b[0Ksection_end:{int(now)}:{_section_name(name)}\r\x1b[0K"
    return None


def stop_commands(token: str) -> str:
    """Stop GitHub from reading workflow commands until ``resume_commands(token)``: a
    test's output that prints ``::error::`` or ``::endgroup::`` must stay plain text."""
    return f"::stop-commands::{token}"


def resume_commands(token: str) -> str:
    return f"::{token}::"


@contextmanager
def log_group(
    name: str,
    *,
    flavor: Flavor,
    write: Callable[[str], object] = print,
    guard_token: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[None]:
    """Wrap the lines written inside in a group. With ``guard_token`` (GitHub only),
    workflow commands inside are not obeyed, so a streamed log cannot forge any."""
    now = clock or (lambda: datetime.now().timestamp())
    write(group_start(name, flavor, now=now()))
    token = guard_token if flavor == "github" else None
    if token:
        write(stop_commands(token))
    try:
        yield
    finally:
        if token:
            write(resume_commands(token))
        end = group_end(name, flavor, now=now())
        if end is not None:
            write(end)
