"""Fixtures, tests and marks of a Python test module, read without importing it.

Uses ``ast`` where the running interpreter can parse the file; a project on a
newer Python (3.14's ``except A, B:``, t-strings) falls back to a line-based
reading that finds the same definitions less precisely.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>\w+)\s*\((?P<params>[^)]*)\)?")
_MARK = re.compile(r"pytest\.mark\.(\w+)")
_PYTESTMARK = re.compile(r"^\s*pytestmark\s*=\s*(.+)$")


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[str, ...]
    line: int
    body: str  # the definition's source text, decorators excluded
    marks: tuple[str, ...]  # pytest.mark names on it (and on its class)
    fixture: bool
    autouse: bool
    scope: str  # a fixture's scope ("function" when not given)
    usefixtures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Module:
    functions: tuple[Function, ...]
    module_marks: tuple[str, ...]  # pytestmark at module level
    parsed: bool  # False when the line-based fallback was used
    marks_line: int | None = None  # where pytestmark is set

    @property
    def fixtures(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.fixture)

    @property
    def tests(self) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if not f.fixture and f.name.startswith("test"))


def read_module(text: str) -> Module:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return _read_lines(text)
    functions: list[Function] = []
    module_marks: list[str] = []
    marks_line: int | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            module_marks += _MARK.findall(ast.get_source_segment(text, node) or "")
            marks_line = marks_line or node.lineno
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(_function(text, node, ()))
        elif isinstance(node, ast.ClassDef):
            class_marks = [
                m for d in node.decorator_list for m in _MARK.findall(ast.get_source_segment(text, d) or "")
            ]
            for item in node.body:
                if isinstance(item, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "pytestmark" for t in item.targets
                ):
                    class_marks += _MARK.findall(ast.get_source_segment(text, item) or "")
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions.append(_function(text, item, tuple(class_marks)))
    return Module(tuple(functions), tuple(module_marks), True, marks_line)


def _function(
    text: str, node: ast.FunctionDef | ast.AsyncFunctionDef, inherited: tuple[str, ...]
) -> Function:
    marks = list(inherited)
    fixture = autouse = False
    scope = "function"
    usefixtures: list[str] = []
    for deco in node.decorator_list:
        src = ast.get_source_segment(text, deco) or ""
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = ast.unparse(target)
        if name.endswith("fixture"):
            fixture = True
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg == "autouse" and isinstance(kw.value, ast.Constant):
                        autouse = bool(kw.value.value)
                    if kw.arg == "scope" and isinstance(kw.value, ast.Constant):
                        scope = str(kw.value.value)
        elif "usefixtures" in name and isinstance(deco, ast.Call):
            usefixtures += [
                a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        marks += _MARK.findall(src)
    params = tuple(
        a.arg
        for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        if a.arg not in ("self", "cls")
    )
    return Function(
        name=node.name,
        params=params,
        line=node.lineno,
        body=ast.get_source_segment(text, node) or "",
        marks=tuple(m for m in marks if m != "usefixtures"),
        fixture=fixture,
        autouse=autouse,
        scope=scope,
        usefixtures=tuple(usefixtures),
    )


def _read_lines(text: str) -> Module:
    lines = text.splitlines()
    functions: list[Function] = []
    module_marks: list[str] = []
    marks_line: int | None = None
    decorators: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if m := _PYTESTMARK.match(line):
            if not line.startswith((" ", "\t")):
                module_marks += _MARK.findall(m.group(1))
                marks_line = marks_line or index + 1
            continue
        if stripped.startswith("@"):
            decorators.append(stripped)
            continue
        m = _DEF.match(line)
        if m is None:
            if stripped and not stripped.startswith("#"):
                decorators = []
            continue
        indent = len(m.group("indent"))
        end = index + 1
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        deco = " ".join(decorators)
        params = tuple(
            p.split(":")[0].split("=")[0].strip().lstrip("*")
            for p in m.group("params").split(",")
            if p.strip() and p.strip().lstrip("*") not in ("self", "cls")
        )
        scope = re.search(r"scope\s*=\s*[\"'](\w+)", deco)
        functions.append(
            Function(
                name=m.group("name"),
                params=tuple(p for p in params if p),
                line=index + 1,
                body="\n".join(lines[index:end]),
                marks=tuple(x for x in _MARK.findall(deco) if x != "usefixtures"),
                fixture="fixture" in deco,
                autouse=bool(re.search(r"autouse\s*=\s*True", deco)),
                scope=scope.group(1) if scope else "function",
                usefixtures=tuple(re.findall(r"[\"'](\w+)[\"']", deco)) if "usefixtures" in deco else (),
            )
        )
        decorators = []
    return Module(tuple(functions), tuple(module_marks), False, marks_line)
