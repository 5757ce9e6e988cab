"""The test suite's layout: pytest's config, markers, groups, and which need a database.

Groups follow the project's CI when it runs several pytest commands (by paths or
``-m``); otherwise the test folders' subfolders (or, for several test roots such as a
workspace's members, one group per root); otherwise the markers the config declares
and the tests use (a guess: the CI does not split by them); otherwise one group.
A group needs the database when one of its tests uses a fixture that touches it
(read from the conftests), carries a database marker, or sits under an autouse
database fixture.
"""


from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.detect.context import Context
from pipeline.detect.db_tests import (
    DB_MARKS,
    TestFile,
    database_fixtures,
    needs_db,
    read_conftests,
    test_files,
)
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.groups import (
    TestGroup,
    groups_from_ci,
    groups_from_folders,
    groups_from_markers,
    make_group,
)
from pipeline.detect.pysource import read_module
from pipeline.detect.pytest_config import as_list, markers, pytest_config
from pipeline.detect.pytest_runs import PytestRun, pytest_runs
from pipeline.detect.repo import relative, under

__all__ = ["PytestRun", "TestGroup", "TestsLayout", "detect_tests_layout"]


@dataclass(frozen=True, slots=True)
class TestsLayout:
    config: Source | None  # pytest's configuration file
    testpaths: Finding[tuple[str, ...]] | None
    addopts: Finding[tuple[str, ...]] | None
    markers: tuple[Finding[str], ...]  # declared markers
    groups: tuple[Finding[TestGroup], ...]
    runs: tuple[PytestRun, ...]  # the CI's pytest invocations
    runner: Finding[tuple[str, ...]]  # how pytest is started: ("pytest",), ("poetry", "run", "pytest") ...
    xdist: Finding[bool]
    settings: dict[str, str] = field(default_factory=dict)  # other ini keys (DJANGO_SETTINGS_MODULE ...)
    questions: tuple[Question, ...] = ()

    def group(self, name: str) -> TestGroup | None:
        return next((g.value for g in self.groups if g.value.name == name), None)


def detect_tests_layout(ctx: Context) -> TestsLayout:
    repo = ctx.repo
    questions: list[Question] = []
    cfg = pytest_config(ctx)
    declared = markers(ctx, cfg)
    testpaths_list = as_list(cfg.values.get("testpaths"))
    testpaths = (
        detected(
            tuple(testpaths_list),
            Source(cfg.source.path, cfg.lines.get("testpaths")) if cfg.source else None,
            "testpaths",
        )
        if testpaths_list
        else None
    )
    addopts_list = as_list(cfg.values.get("addopts"), split_args=True)
    addopts = (
        detected(
            tuple(addopts_list),
            Source(cfg.source.path, cfg.lines.get("addopts")) if cfg.source else None,
            "addopts",
        )
        if addopts_list
        else None
    )
    settings = {
        k: v
        for k, v in cfg.values.items()
        if isinstance(v, str) and k not in ("markers", "testpaths", "addopts")
    }

    conftests = read_conftests(ctx)
    db_fixtures = database_fixtures(conftests)
    declared_names = {m.value for m in declared}
    db_marks = DB_MARKS & (declared_names | {"django_db"})
    files: list[TestFile] = []
    for rel in test_files(ctx, cfg):
        module = read_module(repo.text(rel) or "")
        files.append(TestFile(rel, module, needs_db(rel, module, conftests, db_fixtures, db_marks)))
    if testpaths_list:
        roots = [ctx.path(p) for p in testpaths_list]
        files = [f for f in files if any(under(f.path, r) for r in roots)]
    else:
        roots = _roots(ctx, [f.path for f in files])

    runs = pytest_runs(ctx)
    groups = groups_from_ci(ctx, runs, files)
    if groups is None:
        groups = groups_from_folders(ctx, roots, files, runs)
    if groups is None:
        groups = groups_from_markers(ctx, cfg, declared, roots, files, runs)
    if groups is None:
        workers = runs[0].workers if runs else None
        paths = tuple(relative(r, ctx.project) for r in roots) if not testpaths_list else ()
        group = make_group(ctx, "tests", paths, None, files, workers)
        why = "one group: every test" if files else "no test files found"
        groups = [detected(group, cfg.source or (Source(roots[0]) if roots else None), why)]
        if not files:
            questions.append(
                Question("tests", "no test files found (test_*.py, *_test.py): where are the tests?")
            )

    runner = _runner(ctx, runs)
    xdist = _xdist(ctx, runs, addopts_list)
    for f in files:
        if not f.module.parsed:
            questions.append(
                Question(
                    "tests",
                    f"{f.path} does not parse on this Python: read line by line (fixtures may be missed)",
                    (Source(f.path),),
                )
            )
            break
    return TestsLayout(
        config=cfg.source,
        testpaths=testpaths,
        addopts=addopts,
        markers=tuple(declared),
        groups=tuple(groups),
        runs=tuple(runs),
        runner=runner,
        xdist=xdist,
        settings=settings,
        questions=tuple(questions),
    )


def _roots(ctx: Context, files: list[str]) -> list[str]:
    """Test roots without testpaths: tests/ (or test/) if it exists, else the top folders holding tests."""
    for name in ("tests", "test"):
        rel = ctx.path(name)
        if any(under(f, rel) for f in files):
            return [rel]
    tops: list[str] = []
    for f in files:
        rest = relative(f, ctx.project).split("/")
        top = ctx.path(rest[0]) if len(rest) > 1 else ctx.project
        if top not in tops:
            tops.append(top)
    return tops


def _runner(ctx: Context, runs: list[PytestRun]) -> Finding[tuple[str, ...]]:
    if runs:
        run = runs[0]
        return detected((*run.prefix, "pytest"), run.source, "how the CI starts pytest")
    return guessed(("pytest",), None, "no pytest command in the CI files")


def _xdist(ctx: Context, runs: list[PytestRun], addopts: list[str]) -> Finding[bool]:
    for run in runs:
        if run.workers is not None:
            return detected(True, run.source, f"the CI runs pytest -n {run.workers}")
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in addopts):
        return detected(True, None, "addopts has -n")
    if runs:
        return detected(False, runs[0].source, "the CI runs pytest without -n")
    return guessed(False, None, "no CI command says")
