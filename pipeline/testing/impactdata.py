"""Test impact analysis, the pure part: which stored tests a change may affect, and the
record a run leaves for the next one. Copied into the test container as
``slipway_pytest_impactdata`` (standard library only) beside ``slipway_pytest_codemap``.

A stored test may be skipped only when it passed last time and none of what it
depended on changed. What a test depends on (each part stored with its checksum, so
that an entry stands on its own whatever run wrote it):

``deps``     the function and method bodies it ran (the plugin instruments the project's
             modules), plus those its session-, package-, module- or class-scoped
             fixtures ran when they were set up for an earlier test;
``own``      its test function's body;
``module``   the rest of its test module (module-level code, helpers, fixtures, the
             other blocks that are not tests);
``closure``  the module-level code of every project file it reaches by imports, from
             its test module, the files its fixtures are defined in and the files whose
             code it ran, plus the functions each of those ran while being imported;
``env``      what the analysis cannot see into: every non-Python file, every Python file
             no test process imported through the plugin (migrations, scripts...), and
             the conftest.py files above it.

``ambient`` (once per record, not per test) is the code that ran in a test process
outside any test and any instrumented import (conftest and test-module import time,
collection): a change there reruns everything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

try:
    from .codemap import FileMap, closure, digest
except ImportError:  # in the container: a top-level module beside this one
    from slipway_pytest_codemap import FileMap, closure, digest  # type: ignore[import-not-found,no-redef]

FORMAT = 1
MAX_EXAMPLES = 20  # reasons listed per kind in the report


def test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def test_qualname(nodeid: str) -> str:
    """``tests/x.py::TestA::test_b[1]`` -> ``TestA.test_b``."""
    parts = nodeid.split("::")[1:]
    if parts:
        parts[-1] = parts[-1].split("[", 1)[0]
    return ".".join(parts)


def conftests_above(nodeid: str, files: Iterable[str]) -> list[str]:
    """The conftest.py files in the test's directory and every parent up to the root."""
    present = set(files)
    parts = test_file(nodeid).split("/")[:-1]
    out = []
    for n in range(len(parts) + 1):
        candidate = "/".join([*parts[:n], "conftest.py"])
        if candidate in present:
            out.append(candidate)
    return out


def is_test_module(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return rel.endswith(".py") and any(fnmatch.fnmatch(name, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class Tree:
    """The project as one run sees it: every file's checksum and every .py file's map."""

    manifest: Mapping[str, str]
    files: Mapping[str, FileMap]
    seen: frozenset[str]  # Python files whose functions the plugin instrumented
    test_patterns: tuple[str, ...] = ("test_*.py", "*_test.py")  # pytest's python_files
    test_functions: tuple[str, ...] = ("test*",)  # python_functions
    test_classes: tuple[str, ...] = ("Test*",)  # python_classes
    ignore: tuple[str, ...] = ()  # globs of files no test reads (the stage's impact.ignore)

    def unseen_digest(self) -> str:
        """What the analysis cannot see into, as one checksum (conftests excepted)."""
        parts = []
        for rel, sha in sorted(self.manifest.items()):
            if any(fnmatch.fnmatch(rel, pattern) for pattern in self.ignore):
                continue
            name = rel.rsplit("/", 1)[-1]
            if rel.endswith(".py") and (
                rel in self.seen or name == "conftest.py" or is_test_module(rel, self.test_patterns)
            ):
                continue
            parts += [rel, sha]
        return digest(parts)

    def env_digest(self, nodeid: str, unseen: str) -> str:
        conftests = conftests_above(nodeid, self.manifest)
        return digest([unseen, *(f"{c}:{self.manifest[c]}" for c in conftests)])

    def block(self, rel: str, qualname: str) -> str | None:
        fmap = self.files.get(rel)
        return fmap.blocks.get(qualname) if fmap is not None and fmap.parsed else None

    def closure_digest(self, starts: Iterable[str], import_blocks: Mapping[str, Sequence[str]]) -> str:
        """Module-level code (and what ran at import) of every file ``starts`` reach."""
        parts = []
        for rel in sorted(closure(starts, dict(self.files))):
            fmap = self.files[rel]
            parts += [rel, fmap.module if fmap.parsed else "unparsed:" + fmap.sha]
            parts += [f"{q}={self.block(rel, q)}" for q in sorted(import_blocks.get(rel, ()))]
        return digest(parts)

    def is_test_function(self, qualname: str) -> bool:
        *classes, name = qualname.split(".")
        return any(fnmatch.fnmatch(name, p) for p in self.test_functions) and all(
            any(fnmatch.fnmatch(c, p) for p in self.test_classes) for c in classes
        )

    def module_digest(self, rel: str) -> str:
        """A test module without the bodies of its test functions: what all its tests share."""
        fmap = self.files.get(rel)
        if fmap is None or not fmap.parsed:
            return "missing" if fmap is None else "unparsed:" + fmap.sha
        others = [f"{q}={c}" for q, c in sorted(fmap.blocks.items()) if not self.is_test_function(q)]
        return digest([fmap.module, *others])


@dataclass(slots=True)
class Verdict:
    """The outcome of judging a baseline: what to leave out, and why the rest runs."""

    deselect: set[str] = field(default_factory=set)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # reason -> tests
    baseline: str = ""
    everything: str = ""  # set when one reason reruns every stored test

    def add(self, reason: str, nodeid: str) -> None:
        self.reasons.setdefault(reason, []).append(nodeid)

    def summary(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "deselected": len(self.deselect),
            "everything": self.everything,
            "reasons": {r: {"tests": len(t), "examples": sorted(t)[:MAX_EXAMPLES]}
                        for r, t in sorted(self.reasons.items(), key=lambda kv: -len(kv[1]))},
        }


def judge(doc: Mapping[str, Any], tree: Tree) -> Verdict:
    """Which of the baseline's passed tests may be left out on ``tree``, and why the
    others run. Tests the baseline does not know (new, failed last time) always run."""
    verdict = Verdict(baseline=str(doc.get("run_id", "")))
    tests: Mapping[str, Mapping[str, Any]] = doc.get("tests") or {}
    blocks: Sequence[Sequence[str]] = doc.get("blocks") or []
    stored_files = {rel: FileMap.from_json(m) for rel, m in (doc.get("files") or {}).items()}

    def changed_block(index: int) -> str | None:
        rel, qualname, checksum = blocks[index]
        return None if tree.block(rel, qualname) == checksum else f"{rel}::{qualname}"

    ambient = sorted({c for i in doc.get("ambient") or [] if (c := changed_block(int(i)))})
    if ambient:
        verdict.everything = f"code that runs outside the tests (imports, collection) changed: {ambient[0]}"
    unseen = tree.unseen_digest()
    import_blocks = {rel: [blocks[int(i)][1] for i in ids] for rel, ids in (doc.get("imports") or {}).items()}
    for nodeid, entry in tests.items():
        reason = verdict.everything or _reason(
            nodeid, entry, tree, unseen, import_blocks, changed_block, doc.get("manifest") or {}, stored_files
        )
        if reason:
            verdict.add(reason, nodeid)
        else:
            verdict.deselect.add(nodeid)
    return verdict


def _reason(  # noqa: PLR0911  one return per kind of reason, in the order they are checked
    nodeid: str,
    entry: Mapping[str, Any],
    tree: Tree,
    unseen: str,
    import_blocks: Mapping[str, Sequence[str]],
    changed_block: Any,
    stored_manifest: Mapping[str, str],
    stored_files: Mapping[str, FileMap],
) -> str:
    """Why the test must run again, or "" when nothing it depends on changed."""
    module = test_file(nodeid)
    if module not in tree.manifest:
        return ""  # the test is gone; collection will not find it
    if entry.get("env") != tree.env_digest(nodeid, unseen):
        return _env_reason(nodeid, tree, stored_manifest)
    if entry.get("own") != tree.block(module, test_qualname(nodeid)):
        return f"the test itself changed ({module})"
    if entry.get("module") != tree.module_digest(module):
        return f"its test module changed outside its tests ({module})"
    for index in entry.get("deps") or ():
        name = changed_block(int(index))
        if name:
            return f"runs {name}, which changed"
    if entry.get("closure") != tree.closure_digest(entry.get("starts") or (), import_blocks):
        changed = sorted(
            rel for rel in closure(entry.get("starts") or (), dict(tree.files))
            if rel not in stored_files or stored_files[rel].module != tree.files[rel].module
        )
        what = changed[0] if changed else "the import graph"
        return f"imports {what}, whose module-level code changed"
    return ""


def _env_reason(nodeid: str, tree: Tree, stored: Mapping[str, str]) -> str:
    conftests = [c for c in conftests_above(nodeid, tree.manifest) if stored.get(c) != tree.manifest[c]]
    if conftests:
        return f"conftest changed: {conftests[-1]}"
    changed = [p for p in changed_files(stored, tree.manifest) if not p.endswith("conftest.py")]
    unseen = [p for p in changed if not p.endswith(".py") or p not in tree.seen]
    what = unseen[0] if unseen else "the set of imported modules"
    return f"{what} changed, which the analysis cannot see into (non-Python, or not imported by a test)"


def changed_files(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Added, removed or modified paths, sorted."""
    return sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))


@dataclass(slots=True)
class Raw:
    """What one test process recorded (the plugin writes it as JSON at its end)."""

    table: list[tuple[str, str]] = field(default_factory=list)  # block id -> (file, qualname)
    tests: dict[str, list[int]] = field(default_factory=dict)  # nodeid -> block ids it ran
    starts: dict[str, list[str]] = field(default_factory=dict)  # nodeid -> files its fixtures live in
    ambient: list[int] = field(default_factory=list)
    imports: dict[str, list[int]] = field(default_factory=dict)  # file -> ids run while importing it
    instrumented: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Raw:
        return cls(
            table=[(str(f), str(q)) for f, q in data.get("table") or []],
            tests={str(k): [int(i) for i in v] for k, v in (data.get("tests") or {}).items()},
            starts={str(k): [str(f) for f in v] for k, v in (data.get("starts") or {}).items()},
            ambient=[int(i) for i in data.get("ambient") or []],
            imports={str(k): [int(i) for i in v] for k, v in (data.get("imports") or {}).items()},
            instrumented=[str(f) for f in data.get("instrumented") or []],
            collected=[str(n) for n in data.get("collected") or []],
        )


class _Blocks:
    """A block table being built: (file, qualname, checksum) -> index."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.rows: list[list[str]] = []
        self._index: dict[tuple[str, str], int] = {}

    def id(self, rel: str, qualname: str) -> int | None:
        key = (rel, qualname)
        if key not in self._index:
            checksum = self.tree.block(rel, qualname)
            if checksum is None:
                return None  # not a block of the current file (a nested or generated function)
            self._index[key] = len(self.rows)
            self.rows.append([rel, qualname, checksum])
        return self._index[key]

    def ids(self, raw: Raw, ids: Iterable[int]) -> list[int]:
        out = {self.id(*raw.table[i]) for i in ids if 0 <= i < len(raw.table)}
        return sorted(i for i in out if i is not None)


def build_record(raws: Sequence[Raw], passed: Iterable[str], tree: Tree, python: str) -> dict[str, Any]:
    """The document a run leaves: the tree it ran on and an entry per test that passed."""
    table = _Blocks(tree)
    unseen = tree.unseen_digest()
    imports: dict[str, set[int]] = {}
    ambient: set[int] = set()
    for raw in raws:
        ambient.update(table.ids(raw, raw.ambient))
        for rel, ids in raw.imports.items():
            imports.setdefault(rel, set()).update(table.ids(raw, ids))
    import_blocks = {rel: [table.rows[i][1] for i in ids] for rel, ids in imports.items()}
    ok = set(passed)
    tests: dict[str, dict[str, Any]] = {}
    for raw in raws:
        for nodeid, ids in raw.tests.items():
            if nodeid not in ok:
                continue
            module = test_file(nodeid)
            deps = table.ids(raw, ids)
            starts = sorted({module, *raw.starts.get(nodeid, ()), *(table.rows[i][0] for i in deps)})
            tests[nodeid] = {
                "deps": deps,
                "starts": starts,
                "own": tree.block(module, test_qualname(nodeid)),
                "module": tree.module_digest(module),
                "closure": tree.closure_digest(starts, import_blocks),
                "env": tree.env_digest(nodeid, unseen),
            }
    return {
        "format": FORMAT,
        "python": python,
        "manifest": dict(tree.manifest),
        "files": {rel: m.as_json() for rel, m in tree.files.items()},
        "seen": sorted(tree.seen),
        "blocks": table.rows,
        "ambient": sorted(ambient),
        "imports": {rel: sorted(ids) for rel, ids in sorted(imports.items())},
        "tests": tests,
        "collected": sorted({n for raw in raws for n in raw.collected}),
    }


def carry_over(
    record: dict[str, Any], baseline: Mapping[str, Any], deselected: Iterable[str]
) -> dict[str, Any]:
    """``record`` plus the baseline's entries of the tests this run left out.

    A left-out test was judged unaffected, so its stored checksums still describe the
    tree; only its block ids point into the baseline's table and are renumbered into
    this record's. Without this a selective run's record would know only the tests
    it ran, and the next run would rerun all the others."""
    rows: list[list[str]] = [list(r) for r in record.get("blocks") or []]
    index = {tuple(r): i for i, r in enumerate(rows)}
    old_rows: Sequence[Sequence[str]] = baseline.get("blocks") or []
    old_tests: Mapping[str, Mapping[str, Any]] = baseline.get("tests") or {}
    tests = dict(record.get("tests") or {})
    for nodeid in deselected:
        entry = old_tests.get(nodeid)
        if entry is None or nodeid in tests:
            continue
        deps = []
        for old in entry.get("deps") or ():
            row = tuple(old_rows[old])
            if row not in index:
                index[row] = len(rows)
                rows.append(list(row))
            deps.append(index[row])
        tests[nodeid] = {**entry, "deps": sorted(deps)}
    return {**record, "blocks": rows, "tests": tests}
