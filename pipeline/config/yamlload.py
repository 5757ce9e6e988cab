"""The one YAML loader: safe, and it remembers where every key and value came from.

PyYAML's safe composer gives nodes with marks; we build plain Python data from
them and keep a map from each key path to its (line, column), so config errors
can name file:line:column for any key, including ones pydantic complains about.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.model.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Loaded:
    data: Any
    marks: dict[KeyPath, Mark]  # where each key starts (for unknown / missing keys)
    path: Path
    value_marks: dict[KeyPath, Mark]  # where each value starts (for wrong values)

    def mark_for(self, key_path: KeyPath) -> Mark:
        """The mark of the deepest known prefix of ``key_path``."""
        for end in range(len(key_path), -1, -1):
            mark = self.marks.get(key_path[:end])
            if mark is not None:
                return mark
        return Mark(1, 1)

    def where(self, key_path: KeyPath) -> str:
        mark = self.mark_for(key_path)
        return f"{self.path}:{mark.line}:{mark.column}"

    def where_value(self, key_path: KeyPath) -> str:
        """file:line:column of the value at ``key_path`` (its key's when unknown)."""
        mark = self.value_marks.get(key_path) or self.mark_for(key_path)
        return f"{self.path}:{mark.line}:{mark.column}"


def format_key_path(key_path: KeyPath) -> str:
    out = ""
    for part in key_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _build(
    node: yaml.Node,
    path: KeyPath,
    marks: dict[KeyPath, Mark],
    values: dict[KeyPath, Mark],
    file: Path,
) -> Any:
    marks.setdefault(path, _mark(node))
    values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            raw_key = _construct(key_node)
            key = raw_key if isinstance(raw_key, str) else str(raw_key)
            if key in out:
                m = _mark(key_node)
                raise ConfigError(
                    f"{file}:{m.line}:{m.column}: {format_key_path((*path, key))}: "
                    f"duplicate key {key!r} (it was already set above); keep one"
                )
            marks[(*path, key)] = _mark(key_node)
            out[key] = _build(value_node, (*path, key), marks, values, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), marks, values, file) for i, item in enumerate(node.value)]
    return _construct(node)


def _construct(node: yaml.Node) -> Any:
    """A scalar through the safe constructor (so ``on``/``1.0``/``null`` mean what YAML says)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    finally:
        loader.dispose()


def load_yaml(path: Path) -> Loaded:
    """Read ``path`` with the safe loader; errors name file:line:column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; pass --config FILE or create pipeline.yaml "
            "(see the README for an example)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    marks: dict[KeyPath, Mark] = {}
    values: dict[KeyPath, Mark] = {}
    data = {} if node is None else _build(node, (), marks, values, path)
    return Loaded(data=data, marks=marks, path=path, value_marks=values)
