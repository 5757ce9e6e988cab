"""Slipway's test impact plugin: record what each test runs, and leave out the tests a
change cannot affect. Copied into the test container as ``slipway_pytest_impact`` and
loaded with ``-p`` (standard library and pytest only; ``impactdata`` and ``codemap``
beside it).

Recording: every Python module of the project that is imported through the normal
import system is compiled with one statement added at the top of each function and
method body, ``__slipway_hit__(<block id>)`` (a set's ``add``, a C call of about
40 ns). Test modules and conftest.py files are left to pytest's assertion rewriting
(the analysis handles them as files). Before each test the set is emptied, after it
the set is what the test ran; blocks that run while a module is imported, while a
wider-than-function fixture is set up, or outside any test are kept apart (see
``impactdata``). No tracer runs, so a hot loop costs one set insertion per call, and
the project's own coverage (pytest-cov) is not disturbed.

Environment:

``SLIPWAY_IMPACT_DIR``       where to write: ``raw-<worker>.json`` per test process, and
                             (the controller) ``record.json`` and ``selection.json``;
                             unset: the plugin does nothing;
``SLIPWAY_IMPACT_BASELINE``  the record of an earlier run (JSON); with it, the tests it
                             shows passed and unaffected are deselected;
``SLIPWAY_IMPACT_IGNORE``    JSON list of globs of files no test reads;
``SLIPWAY_WORKERS_CAP``      with ``-n auto``: the most xdist workers the job may start.
                             The controller judges the baseline before xdist starts
                             any worker and scales the count to the tests left
                             (``workers``): a small selection runs in-process.
"""

from __future__ import annotations

import ast
import builtins
import glob
import importlib.abc
import importlib.machinery
import json
import os
import sys
import sysconfig
import time
from collections.abc import Generator, Sequence
from types import ModuleType
from typing import Any

import pytest

try:
    from .codemap import BlockTransformer, FileMap, code_map, manifest
    from .impactdata import Raw, Tree, build_record, carry_over, judge
    from .workers import explain, scaled_workers
except ImportError:  # in the container: top-level modules beside this one
    from slipway_pytest_codemap import (  # type: ignore[import-not-found,no-redef]
        BlockTransformer,
        FileMap,
        code_map,
        manifest,
    )
    from slipway_pytest_impactdata import (  # type: ignore[import-not-found,no-redef]
        Raw,
        Tree,
        build_record,
        carry_over,
        judge,
    )
    from slipway_pytest_workers import explain, scaled_workers  # type: ignore[import-not-found,no-redef]

DIR_VARIABLE = "SLIPWAY_IMPACT_DIR"
BASELINE_VARIABLE = "SLIPWAY_IMPACT_BASELINE"
IGNORE_VARIABLE = "SLIPWAY_IMPACT_IGNORE"
CAP_VARIABLE = "SLIPWAY_WORKERS_CAP"
HIT_NAME = "__slipway_hit__"
SELECTION = "selection.json"
RECORD = "record.json"

HITS: set[int] = set()
TABLE: list[tuple[str, str]] = []  # block id -> (file relative to the root, qualname)
IMPORT_HITS: dict[str, set[int]] = {}
INSTRUMENTED: set[str] = set()


# The directory node ids and recorded paths are relative to: the working directory
# until pytest's rootdir is known (``pytest_load_initial_conftests``, before any
# conftest imports the app).
ROOT = os.path.realpath(os.getcwd())
_LIBRARY_DIRS = tuple(
    os.path.realpath(p) + os.sep
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


class _Instrument(BlockTransformer):
    """Adds ``__slipway_hit__(id)`` to each block (codemap's blocks) of one file."""

    def __init__(self, rel: str) -> None:
        super().__init__()
        self.rel = rel

    def block(self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> None:
        TABLE.append((self.rel, qualname))
        call = ast.Expr(value=ast.Call(func=ast.Name(id=HIT_NAME, ctx=ast.Load()),
                                       args=[ast.Constant(value=len(TABLE) - 1)], keywords=[]))
        body = node.body
        # After a docstring, which must stay the first statement to remain __doc__.
        at = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str) else 0
        anchor = body[at] if at < len(body) else body[-1]
        node.body = [*body[:at], ast.copy_location(call, anchor), *body[at:]]


class _Loader(importlib.machinery.SourceFileLoader):
    """Compiles a project module with its blocks instrumented, never from a .pyc."""

    def rel(self) -> str:
        return os.path.relpath(os.path.realpath(self.path), ROOT).replace(os.sep, "/")

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        data = self.get_data(path)
        tree = ast.parse(data, filename=path)
        tree = _Instrument(self.rel()).visit(tree)
        ast.fix_missing_locations(tree)
        INSTRUMENTED.add(self.rel())
        return compile(tree, path, "exec", dont_inherit=True)

    def exec_module(self, module: ModuleType) -> None:
        before = set(HITS)
        HITS.clear()
        try:
            super().exec_module(module)
        finally:
            IMPORT_HITS.setdefault(self.rel(), set()).update(HITS)
            HITS.update(before)  # whoever imported it ran that too


class _Finder(importlib.abc.MetaPathFinder):
    """Hands the project's own source modules to ``_Loader``, everything else unchanged."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        origin = spec.origin if spec is not None else None
        if spec is None or not origin or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec
        real = os.path.realpath(origin)
        library = real.startswith(_LIBRARY_DIRS) or f"{os.sep}site-packages{os.sep}" in real
        if not real.startswith(ROOT + os.sep) or library:
            return spec
        spec.loader = _Loader(fullname, origin)
        return spec


def _install() -> None:
    setattr(builtins, HIT_NAME, HITS.add)
    finders = sys.meta_path
    # Before the PathFinder, after pytest's assertion rewriter (which claims test modules).
    at = next((i for i, f in enumerate(finders) if f is importlib.machinery.PathFinder), len(finders))
    finders.insert(at, _Finder())


OUT_DIR = os.environ.get(DIR_VARIABLE, "")
if OUT_DIR:
    _install()


class Recorder:
    """This process's record: what each test, fixture and the rest of the session ran."""

    def __init__(self) -> None:
        self.tests: dict[str, list[int]] = {}
        self.starts: dict[str, list[str]] = {}
        self.fixtures: dict[tuple[str, str], set[int]] = {}
        self.ambient: set[int] = set()
        self.collected: list[str] = []
        self.failed: set[str] = set()
        self.reported: set[str] = set()

    def raw(self) -> dict[str, Any]:
        return {
            "table": TABLE, "tests": self.tests, "starts": self.starts,
            "ambient": sorted(self.ambient | HITS),
            "imports": {rel: sorted(ids) for rel, ids in IMPORT_HITS.items()},
            "instrumented": sorted(INSTRUMENTED), "collected": self.collected,
        }


_RECORDER = Recorder()


def _worker(config: pytest.Config) -> str | None:
    inputs = getattr(config, "workerinput", None)
    return str(inputs["workerid"]) if inputs else None


def _rel(path: str) -> str | None:
    real = os.path.realpath(path)
    return os.path.relpath(real, ROOT).replace(os.sep, "/") if real.startswith(ROOT + os.sep) else None


def _patterns(config: pytest.Config, name: str, default: Sequence[str]) -> tuple[str, ...]:
    value = config.getini(name)
    return tuple(str(v) for v in value) if value else tuple(default)


def _tree(config: pytest.Config, known: dict[str, FileMap], seen: set[str]) -> Tree:
    files = manifest(ROOT)
    roots = sorted({"", *(r for p in sys.path if (r := _rel(p)) is not None and not r.startswith(".."))})
    ignore = tuple(json.loads(os.environ.get(IGNORE_VARIABLE) or "[]"))
    return Tree(
        manifest=files, files=code_map(ROOT, files, roots, known), seen=frozenset(seen),
        test_patterns=_patterns(config, "python_files", ("test_*.py", "*_test.py")),
        test_functions=_patterns(config, "python_functions", ("test*",)),
        test_classes=_patterns(config, "python_classes", ("Test*",)), ignore=ignore,
    )


def _baseline() -> dict[str, Any]:
    path = os.environ.get(BASELINE_VARIABLE)
    if not path or not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def _known(doc: dict[str, Any]) -> dict[str, FileMap]:
    return {rel: FileMap.from_json(m) for rel, m in (doc.get("files") or {}).items()}


def _write(name: str, data: object) -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    tmp = os.path.join(OUT_DIR, name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, os.path.join(OUT_DIR, name))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    global ROOT  # noqa: PLW0603  one value for the finder, set once pytest knows it
    if OUT_DIR:
        ROOT = os.path.realpath(str(early_config.rootpath))
    yield


_JUDGED: dict[str, Any] = {}  # the selection, once judged in this process


def _judge(config: pytest.Config) -> dict[str, Any]:
    """The baseline judged once (``selection.json``); with ``-n auto`` that happens when
    xdist asks for the worker count, before the session, else at configure time."""
    if _JUDGED:
        return _JUDGED
    started = time.monotonic()
    doc = _baseline()
    if not doc:
        everything = "no stored record: every test runs"
        selection: dict[str, Any] = {"deselect": [], "summary": {
            "baseline": "", "deselected": 0, "reasons": {}, "everything": everything}}
    else:
        tree = _tree(config, _known(doc), set(doc.get("seen") or ()))
        verdict = judge(doc, tree)
        summary = {**verdict.summary(), "seconds": round(time.monotonic() - started, 2)}
        left = set(doc.get("collected") or ()) - verdict.deselect
        summary["expected_tests"] = len(left)
        selection = {"deselect": sorted(verdict.deselect), "summary": summary}
    _JUDGED.update(selection)
    return selection


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with ``SLIPWAY_WORKERS_CAP``: as many workers as the selection is worth.

    The count is estimated from the record: the tests it collected last time less those
    left out (tests added since are not counted)."""
    cap = os.environ.get(CAP_VARIABLE, "")
    if not OUT_DIR or not cap.isdigit():
        return None  # xdist's own answer (the cores)
    selection = _judge(config)
    summary = selection["summary"]
    if "expected_tests" not in summary:
        workers, line = int(cap), f"xdist: -n {cap} (no stored record: every test runs)"
    else:
        tests = int(summary["expected_tests"])
        workers, line = scaled_workers(int(cap), tests), explain(int(cap), tests, "impact selection")
    summary["workers"], summary["workers_choice"] = workers, line
    print(f"slipway: {line}", file=sys.stderr, flush=True)
    return workers


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The controller (or a serial run) judges the baseline once, before any worker starts."""
    if not OUT_DIR or _worker(config) is not None or config.option.collectonly:
        return
    _write(SELECTION, _judge(config))


def _deselected() -> set[str]:
    path = os.path.join(OUT_DIR, SELECTION)
    if not os.path.isfile(path):
        return set()
    with open(path, encoding="utf-8") as fh:
        return set(json.load(fh).get("deselect") or ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # trylast: after the other plugins' selection (-m, Slipway's shard split), so that
    # "collected" is what this job is responsible for.
    if not OUT_DIR:
        return
    _RECORDER.collected = [item.nodeid for item in items]
    deselect = _deselected()
    if not deselect:
        return
    kept = [item for item in items if item.nodeid not in deselect]
    left = [item for item in items if item.nodeid in deselect]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Generator[None, None, None]:
    if not OUT_DIR or fixturedef.scope == "function":
        yield
        return
    before = set(HITS)
    HITS.clear()
    try:
        yield
    finally:
        _RECORDER.fixtures.setdefault((fixturedef.argname, fixturedef.baseid), set()).update(HITS)
        HITS.update(before)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    if not OUT_DIR:
        yield
        return
    _RECORDER.ambient.update(HITS)
    HITS.clear()
    yield
    ran = set(HITS)
    HITS.clear()
    starts: set[str] = set()
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        for fixturedef in defs:
            ran.update(_RECORDER.fixtures.get((fixturedef.argname, fixturedef.baseid), ()))
            code = getattr(getattr(fixturedef, "func", None), "__code__", None)
            rel = _rel(code.co_filename) if code is not None else None
            if rel is not None:
                starts.add(rel)
    _RECORDER.tests[item.nodeid] = sorted(ran)
    _RECORDER.starts[item.nodeid] = sorted(starts)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if OUT_DIR:
        _RECORDER.reported.add(report.nodeid)
        # pytest-rerunfailures reports a failed try as "rerun": a flaky test is not stored.
        if report.failed or str(report.outcome) == "rerun":
            _RECORDER.failed.add(report.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not OUT_DIR or config.option.collectonly:
        return
    worker = _worker(config)
    _write(f"raw-{worker or 'main'}.json", _RECORDER.raw())
    if worker is not None:
        return
    raws = []
    for path in sorted(glob.glob(os.path.join(OUT_DIR, "raw-*.json"))):
        with open(path, encoding="utf-8") as fh:
            raws.append(Raw.from_json(json.load(fh)))
    doc = _baseline()
    seen = set(doc.get("seen") or ()) | {rel for raw in raws for rel in raw.instrumented}
    tree = _tree(config, _known(doc), seen)
    seen &= set(tree.manifest)  # files since removed are seen no more
    tree = Tree(manifest=tree.manifest, files=tree.files, seen=frozenset(seen),
                test_patterns=tree.test_patterns, test_functions=tree.test_functions,
                test_classes=tree.test_classes, ignore=tree.ignore)
    passed = _RECORDER.reported - _RECORDER.failed
    record = build_record(raws, passed, tree, python=".".join(map(str, sys.version_info[:3])))
    record["ran"] = sorted(_RECORDER.reported)
    _write(RECORD, carry_over(record, doc, _deselected()))
