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

import fnmatch
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.detect.ci import Command
from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.pysource import Function, Module, read_module
from pipeline.detect.repo import parent, relative, under

# Marks that are pytest's or plugins', never a project's way of grouping tests.
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
DB_MARKS = frozenset({"django_db", "db", "database", "postgres", "pg"})
# pytest-django's fixtures that give database access.
DB_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_setup",
        "django_db_blocker",
        "live_server",
        "admin_client",
        "admin_user",
        "django_db_reset_sequences",
    }
)
_DB_TERMS = re.compile(
    r"create_engine|get_engine|\bengine\b|sessionmaker|\bSession\(|\.connect\(|psycopg|asyncpg|DATABASE_URL|"
    r"create_all|drop_all|alembic|django_db_blocker|\bdb_session\b|CREATE DATABASE"
)
# pytest options that take a value (so the value is not a path).
_VALUE_OPTS = frozenset(
    {
        "-m",
        "-n",
        "-k",
        "-p",
        "-c",
        "-o",
        "-W",
        "--numprocesses",
        "--rootdir",
        "--junitxml",
        "--junit-xml",
        "--dist",
        "--maxfail",
        "--durations",
        "--tb",
        "--ignore",
        "--deselect",
        "--basetemp",
        "--log-level",
        "--timeout",
        "--reruns",
        "--splits",
        "--group",
        "--ds",
        "--cov-report",
        "--cov-config",
        "--cov-fail-under",
        "--confcutdir",
        "--override-ini",
        "--import-mode",
        "--maxprocesses",
        "--splitting-algorithm",
        "--durations-path",
        "--store-durations",
        "--random-order-seed",
        "-r",
    }
)


@dataclass(frozen=True, slots=True)
class PytestRun:
    """One pytest invocation in the CI."""

    prefix: tuple[str, ...]  # what runs pytest: (), ("poetry", "run"), ("coverage", "run", "-m") ...
    args: tuple[str, ...]  # pytest's own arguments
    paths: tuple[str, ...]  # relative to the project
    markers: str | None
    workers: str | None  # -n
    cov: bool  # --cov given (pytest-cov)
    source: Source
    job: str


@dataclass(frozen=True, slots=True)
class TestGroup:
    name: str
    paths: tuple[str, ...]  # relative to the project; () = pytest's own discovery
    markers: str | None  # a -m expression
    needs_database: bool
    database_reason: Source | None  # a test that needs it
    workers: str | None  # -n as the CI runs this group, if it does
    files: int  # test files in the group


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


# --- pytest's configuration ---


@dataclass(frozen=True, slots=True)
class PytestConfig:
    source: Source | None
    values: dict[str, str | list[str]]
    lines: dict[str, int]


def pytest_config(ctx: Context) -> PytestConfig:
    """The file pytest would take as its configuration (pytest.ini, pyproject, tox.ini, setup.cfg)."""
    repo = ctx.repo
    candidates = [
        ("pytest.ini", "pytest"),
        (".pytest.ini", "pytest"),
        ("pyproject.toml", None),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ]
    for name, section in candidates:
        rel = ctx.path(name)
        if not repo.exists(rel):
            continue
        if section is None:
            data = repo.toml(rel) or {}
            pytest_table = data.get("tool", {}).get("pytest", {})
            table = (
                pytest_table.get("ini_options") if isinstance(pytest_table.get("ini_options"), dict) else None
            )
            key_table = "tool.pytest.ini_options"
            if table is None and pytest_table:
                table = {k: v for k, v in pytest_table.items() if not isinstance(v, dict)}
                key_table = "tool.pytest"
            if table is None:
                continue
            values: dict[str, str | list[str]] = {}
            for key, value in table.items():
                values[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
            lines = {k: repo.toml_source(rel, key_table, k).line or 0 for k in values}
            return PytestConfig(repo.toml_source(rel, key_table), values, lines)
        parser = repo.ini(rel)
        if parser is None or not parser.has_section(section):
            if name == "pytest.ini":
                # pytest.ini wins even when empty.
                return PytestConfig(Source(rel), {}, {})
            continue
        values = {k: v for k, v in parser.items(section)}
        lines = {k: repo.line_of(rel, r"^\s*" + re.escape(k) + r"\s*[=:]") or 0 for k in values}
        return PytestConfig(repo.source(rel, r"^\s*\[" + re.escape(section) + r"\]"), values, lines)
    return PytestConfig(None, {}, {})


def _as_list(value: str | list[str] | None, *, split_args: bool = False) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out += shlex.split(item) if split_args else [item]
        return out
    if split_args:
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return (
        [line.strip() for line in re.split(r"[\n]+", value) if line.strip()]
        if "\n" in value
        else value.split()
    )


def _markers(ctx: Context, cfg: PytestConfig) -> list[Finding[str]]:
    raw = cfg.values.get("markers")
    items = raw if isinstance(raw, list) else [line for line in (raw or "").splitlines() if line.strip()]
    out = []
    for item in items:
        name = re.split(r"[:(\s]", item.strip(), maxsplit=1)[0]
        if not name:
            continue
        src = cfg.source
        if src is not None:
            line = ctx.repo.line_of(src.path, r"(^|[\s\"'])" + re.escape(name) + r"\s*[:(\"']")
            src = Source(src.path, line or src.line)
        out.append(detected(name, src, "a declared marker"))
    return out


# --- the CI's pytest commands ---


def _pytest_index(argv: tuple[str, ...]) -> int | None:
    for i, arg in enumerate(argv):
        base = arg.rsplit("/", 1)[-1]
        if base in ("pytest", "py.test") and (i == 0 or argv[i - 1] not in ("-m",)):
            return i
        if arg == "-m" and i + 1 < len(argv) and argv[i + 1] == "pytest" and i > 0:
            return i + 1
    return None


def pytest_runs(ctx: Context) -> list[PytestRun]:
    out = []
    for command in ctx.ci.commands():
        for argv in command.argvs():
            index = _pytest_index(argv)
            if index is None:
                continue
            prefix = argv[:index]
            # `python -m pytest` / `coverage run -m pytest`: the -m belongs to the prefix.
            run = _parse_run(ctx, command, prefix, argv[index + 1 :])
            if run is not None:
                out.append(run)
    return out


def _parse_run(
    ctx: Context, command: Command, prefix: tuple[str, ...], args: tuple[str, ...]
) -> PytestRun | None:
    if not (under(command.cwd, ctx.project) or under(ctx.project, command.cwd)):
        return None
    paths: list[str] = []
    markers = workers = None
    cov = False
    i = 0
    while i < len(args):
        arg = args[i]
        value: str | None = None
        opt = arg
        if arg.startswith("--") and "=" in arg:
            opt, value = arg.split("=", 1)
        elif arg[:2] in ("-m", "-n", "-k", "-p", "-c", "-o") and len(arg) > 2:
            opt, value = arg[:2], arg[2:]
        elif arg in _VALUE_OPTS and i + 1 < len(args):
            value = args[i + 1]
            i += 1
        if opt == "-m":
            markers = value
        elif opt in ("-n", "--numprocesses"):
            workers = value
        elif opt.startswith("--cov") and opt in ("--cov",):
            cov = True
        elif not arg.startswith("-") and value is None:
            joined = ctx.repo.join(command.cwd, arg.split("::")[0])
            paths.append(relative(joined, ctx.project))
        i += 1
    return PytestRun(prefix, args, tuple(paths), markers, workers, cov, command.source, command.job)


# --- which tests need the database ---


@dataclass(frozen=True, slots=True)
class _TestFile:
    path: str  # relative to the root
    module: Module
    db_line: int | None  # a line that makes it need the database


def test_files(ctx: Context, cfg: PytestConfig) -> list[str]:
    patterns = _as_list(cfg.values.get("python_files")) or ["test_*.py", "*_test.py"]
    out = []
    for rel in ctx.repo.glob("*.py", "**/*.py", under=ctx.project):
        base = rel.rsplit("/", 1)[-1]
        if base == "conftest.py" or not any(fnmatch.fnmatchcase(base, p) for p in patterns):
            continue
        if "/migrations/" in f"/{rel}" or "/site-packages/" in rel:
            continue
        out.append(rel)
    return out


def _conftests(ctx: Context) -> dict[str, Module]:
    out = {}
    for rel in ctx.repo.named("conftest.py", under=ctx.project):
        out[rel] = read_module(ctx.repo.text(rel) or "")
    return out


def database_fixtures(conftests: dict[str, Module], extra: Sequence[Module] = ()) -> dict[str, Function]:
    """Fixtures that reach the database, directly or through other fixtures (by name)."""
    fixtures: dict[str, Function] = {}
    for module in [*conftests.values(), *extra]:
        for f in module.fixtures:
            fixtures.setdefault(f.name, f)
    db = {name: f for name, f in fixtures.items() if _DB_TERMS.search(f.body)}
    changed = True
    while changed:
        changed = False
        for name, f in fixtures.items():
            if name not in db and any(p in db or p in DB_FIXTURES for p in (*f.params, *f.usefixtures)):
                db[name] = f
                changed = True
    return db


def _needs_db(
    rel: str,
    module: Module,
    conftests: dict[str, Module],
    db_fixtures: dict[str, Function],
    db_marks: frozenset[str],
) -> int | None:
    if set(module.module_marks) & db_marks:
        return module.marks_line or 1
    local = database_fixtures({}, [module])
    known = {**db_fixtures, **local}
    for test in module.tests:
        if set(test.marks) & db_marks:
            return test.line
        if any(p in known or p in DB_FIXTURES for p in (*test.params, *test.usefixtures)):
            return test.line
    # An autouse fixture that touches the database, in this module or a conftest above it.
    for f in module.fixtures:
        if f.autouse and f.name in known:
            return f.line
    for conf, cmod in conftests.items():
        if under(parent(rel), parent(conf)):
            for f in cmod.fixtures:
                if f.autouse and f.name in db_fixtures and module.tests:
                    return module.tests[0].line
    return None


# --- groups ---


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "tests"


def detect_tests_layout(ctx: Context) -> TestsLayout:
    repo = ctx.repo
    questions: list[Question] = []
    cfg = pytest_config(ctx)
    declared = _markers(ctx, cfg)
    testpaths_list = _as_list(cfg.values.get("testpaths"))
    testpaths = (
        detected(
            tuple(testpaths_list),
            Source(cfg.source.path, cfg.lines.get("testpaths")) if cfg.source else None,
            "testpaths",
        )
        if testpaths_list
        else None
    )
    addopts_list = _as_list(cfg.values.get("addopts"), split_args=True)
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

    conftests = _conftests(ctx)
    db_fixtures = database_fixtures(conftests)
    declared_names = {m.value for m in declared}
    db_marks = DB_MARKS & (declared_names | {"django_db"})
    files: list[_TestFile] = []
    for rel in test_files(ctx, cfg):
        module = read_module(repo.text(rel) or "")
        files.append(_TestFile(rel, module, _needs_db(rel, module, conftests, db_fixtures, db_marks)))
    if testpaths_list:
        roots = [ctx.path(p) for p in testpaths_list]
        files = [f for f in files if any(under(f.path, r) for r in roots)]
    else:
        roots = _roots(ctx, [f.path for f in files])

    runs = pytest_runs(ctx)
    groups = _groups_from_ci(ctx, runs, files)
    if groups is None:
        groups = _groups_from_folders(ctx, roots, files, runs)
    if groups is None:
        groups = _groups_from_markers(ctx, cfg, declared, roots, files, runs)
    if groups is None:
        workers = runs[0].workers if runs else None
        paths = tuple(relative(r, ctx.project) for r in roots) if not testpaths_list else ()
        group = _group(ctx, "tests", paths, None, files, workers)
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


def _group(
    ctx: Context,
    name: str,
    paths: tuple[str, ...],
    markers: str | None,
    files: list[_TestFile],
    workers: str | None,
) -> TestGroup:
    """A group over ``files`` restricted to ``paths`` (project-relative; () = all)."""
    mine = [f for f in files if not paths or any(under(f.path, ctx.path(p)) for p in paths)]
    if markers is not None:
        mine = [f for f in mine if _matches(markers, _file_marks(f))] or mine
    reason = next((Source(f.path, f.db_line) for f in mine if f.db_line is not None), None)
    return TestGroup(name, paths, markers, reason is not None, reason, workers, len(mine))


def _file_marks(f: _TestFile) -> set[str]:
    marks = set(f.module.module_marks)
    for test in f.module.tests:
        marks |= set(test.marks)
    return marks


def _matches(expr: str, marks: set[str]) -> bool:
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


def _groups_from_ci(
    ctx: Context, runs: list[PytestRun], files: list[_TestFile]
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
            name = _slug(markers)
        elif paths:
            name = _slug(paths[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".py"))
        else:
            name = "all"
        while name in names:
            name += "-2"
        names.add(name)
        group = _group(ctx, name, paths, markers, files, run.workers)
        out.append(
            detected(group, run.source, f"the CI runs it: {' '.join((*run.prefix, 'pytest', *run.args))}")
        )
    return out


def _groups_from_folders(
    ctx: Context, roots: list[str], files: list[_TestFile], runs: list[PytestRun]
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
        out.append(detected(_group(ctx, name, paths, None, files, workers), source, why))

    for root in roots:
        mine = [f for f in files if under(f.path, root)]
        subs = sorted({relative(f.path, root).split("/")[0] for f in mine if "/" in relative(f.path, root)})
        loose = [f for f in mine if "/" not in relative(f.path, root)]
        root_rel = relative(root, ctx.project)
        if len(roots) > 1 and len(subs) <= 1:
            label = root_rel.rstrip("/").split("/")
            name = label[-2] if label[-1] in ("tests", "test") and len(label) > 1 else label[-1]
            add(_slug(name), (root_rel,), Source(root), f"test root {root_rel}")
            continue
        for sub in subs:
            sub_rel = f"{root_rel}/{sub}" if root_rel != "." else sub
            prefix = "" if len(roots) == 1 else _slug(root_rel.split("/")[0]) + "-"
            add(prefix + _slug(sub), (sub_rel,), Source(ctx.path(sub_rel)), f"tests in {sub_rel}/")
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


def _groups_from_markers(
    ctx: Context,
    cfg: PytestConfig,
    declared: list[Finding[str]],
    roots: list[str],
    files: list[_TestFile],
    runs: list[PytestRun],
) -> list[Finding[TestGroup]] | None:
    used: dict[str, Finding[str]] = {}
    for marker in declared:
        if marker.value in BUILTIN_MARKS:
            continue
        if any(marker.value in _file_marks(f) for f in files):
            used[marker.value] = marker
    if not used:
        return None
    workers = runs[0].workers if len(runs) == 1 else None
    paths = tuple(relative(r, ctx.project) for r in roots) if not cfg.values.get("testpaths") else ()
    out: list[Finding[TestGroup]] = []
    for name, marker in used.items():
        out.append(
            guessed(
                _group(ctx, _slug(name), paths, name, files, workers),
                marker.source,
                f"marker {name!r} is declared and used; the CI does not split by it",
            )
        )
    rest = " and ".join(f"not {n}" for n in used)
    out.append(
        guessed(
            _group(ctx, _slug(rest), paths, rest, files, workers),
            cfg.source,
            "the tests without those markers",
        )
    )
    return out


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
