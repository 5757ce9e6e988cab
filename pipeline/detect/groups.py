"""Test groups: from the CI's pytest commands, the test folders' subfolders, or the markers
the config declares and the tests use (a guess)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.detect.context import Context
from pipeline.detect.db_tests import TestFile
from pipeline.detect.findings import Finding, Source, detected, guessed
from pipeline.detect.pytest_config import PytestConfig
from pipeline.detect.pytest_runs import PytestRun
from pipeline.detect.repo import relative, under

BUILTIN_MARKS = frozenset(
    {
        "parametrize",
        "skip",
        "skipif",
        "xfail",
        "usefixtures",
        "filterwarnings",
        "asyncio",
        "anyio",
        "django_db",
        "timeout",
        "flaky",
        "order",
        "dependency",
        "benchmark",
        "tryfirst",
        "trylast",
        "no_cover",
        "freeze_time",
        "vcr",
        "urls",
        "ignore_template_errors",
    }
)


@dataclass(frozen=True, slots=True)
class TestGroup:
    name: str
    paths: tuple[str, ...]  # relative to the project; () = pytest's own discovery
    markers: str | None  # a -m expression
    needs_database: bool
    database_reason: Source | None  # a test that needs it
    workers: str | None  # -n as the CI runs this group, if it does
    files: int  # test files in the group


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "tests"


def make_group(
    ctx: Context,
    name: str,
    paths: tuple[str, ...],
    markers: str | None,
    files: list[TestFile],
    workers: str | None,
) -> TestGroup:
    """A group over ``files`` restricted to ``paths`` (project-relative; () = all)."""
    mine = [f for f in files if not paths or any(under(f.path, ctx.path(p)) for p in paths)]
    if markers is not None:
        mine = [f for f in mine if matches(markers, file_marks(f))] or mine
    reason = next((Source(f.path, f.db_line) for f in mine if f.db_line is not None), None)
    return TestGroup(name, paths, markers, reason is not None, reason, workers, len(mine))


def file_marks(f: TestFile) -> set[str]:
    marks = set(f.module.module_marks)
    for test in f.module.tests:
        marks |= set(test.marks)
    return marks


def matches(expr: str, marks: set[str]) -> bool:
    """Whether a file with ``marks`` has tests selected by ``-m expr`` (names, not, and, or, parentheses)."""
    tokens: list[str] = re.findall(r"\(|\)|[\w.-]+", expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def atom() -> bool:
        word = take() if peek() is not None else ""
        if word == "not":
            return not atom()
        if word == "(":
            value = either()
            if peek() == ")":
                take()
            return value
        return word in marks

    def both() -> bool:
        value = atom()
        while peek() == "and":
            take()
            value = atom() and value
        return value

    def either() -> bool:
        value = both()
        while peek() == "or":
            take()
            value = both() or value
        return value

    return either() if tokens else True


def groups_from_ci(
    ctx: Context, runs: list[PytestRun], files: list[TestFile]
) -> list[Finding[TestGroup]] | None:
    distinct: dict[tuple[tuple[str, ...], str | None], PytestRun] = {}
    for run in runs:
        distinct.setdefault((run.paths, run.markers), run)
    if len(distinct) < 2:
        return None
    out: list[Finding[TestGroup]] = []
    names: set[str] = set()
    for (paths, markers), run in distinct.items():
        if markers:
            name = slug(markers)
        elif paths:
            name = slug(paths[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".py"))
        else:
            name = "all"
        while name in names:
            name += "-2"
        names.add(name)
        group = make_group(ctx, name, paths, markers, files, run.workers)
        out.append(
            detected(group, run.source, f"the CI runs it: {' '.join((*run.prefix, 'pytest', *run.args))}")
        )
    return out


def groups_from_folders(
    ctx: Context, roots: list[str], files: list[TestFile], runs: list[PytestRun]
) -> list[Finding[TestGroup]] | None:
    workers = runs[0].workers if len(runs) == 1 else None
    out: list[Finding[TestGroup]] = []
    names: set[str] = set()

    def add(name: str, paths: tuple[str, ...], source: Source, why: str) -> None:
        base = name
        n = 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        out.append(detected(make_group(ctx, name, paths, None, files, workers), source, why))

    for root in roots:
        mine = [f for f in files if under(f.path, root)]
        subs = sorted({relative(f.path, root).split("/")[0] for f in mine if "/" in relative(f.path, root)})
        loose = [f for f in mine if "/" not in relative(f.path, root)]
        root_rel = relative(root, ctx.project)
        if len(roots) > 1 and len(subs) <= 1:
            label = root_rel.rstrip("/").split("/")
            name = label[-2] if label[-1] in ("tests", "test") and len(label) > 1 else label[-1]
            add(slug(name), (root_rel,), Source(root), f"test root {root_rel}")
            continue
        for sub in subs:
            sub_rel = f"{root_rel}/{sub}" if root_rel != "." else sub
            prefix = "" if len(roots) == 1 else slug(root_rel.split("/")[0]) + "-"
            add(prefix + slug(sub), (sub_rel,), Source(ctx.path(sub_rel)), f"tests in {sub_rel}/")
        if subs and loose:
            add(
                "other",
                tuple(relative(f.path, ctx.project) for f in loose),
                Source(loose[0].path),
                f"tests directly in {root_rel}/",
            )
    if len(out) < 2:
        return None
    return out


def groups_from_markers(
    ctx: Context,
    cfg: PytestConfig,
    declared: list[Finding[str]],
    roots: list[str],
    files: list[TestFile],
    runs: list[PytestRun],
) -> list[Finding[TestGroup]] | None:
    used: dict[str, Finding[str]] = {}
    for marker in declared:
        if marker.value in BUILTIN_MARKS:
            continue
        if any(marker.value in file_marks(f) for f in files):
            used[marker.value] = marker
    if not used:
        return None
    workers = runs[0].workers if len(runs) == 1 else None
    paths = tuple(relative(r, ctx.project) for r in roots) if not cfg.values.get("testpaths") else ()
    out: list[Finding[TestGroup]] = []
    for name, marker in used.items():
        out.append(
            guessed(
                make_group(ctx, slug(name), paths, name, files, workers),
                marker.source,
                f"marker {name!r} is declared and used; the CI does not split by it",
            )
        )
    rest = " and ".join(f"not {n}" for n in used)
    out.append(
        guessed(
            make_group(ctx, slug(rest), paths, rest, files, workers),
            cfg.source,
            "the tests without those markers",
        )
    )
    return out
