"""The one YAML loader: safe, bounded, and it remembers where every key and value came from.

PyYAML's safe composer gives nodes with marks; we build plain Python data from
them and keep a map from each key path to its (line, column), so config errors
can name file:line:column for any key, including ones pydantic complains about.

Bounded: the text is read within ``source``'s limits, composed within
``yamlcompose``'s (depth, node count), and building stops at ``MAX_VALUES``
values counted after aliases are expanded, so an alias bomb (a few hundred
bytes that expand to billions of values) fails in milliseconds instead of
eating the runner's memory. A recursive alias, an
over-long scalar, a tag the safe loader refuses and a number too long for
Python each get their own file:line:column message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.config.source import read_config_text
from pipeline.config.yamlcompose import compose
from pipeline.model.errors import ConfigError

KeyPath = tuple[str | int, ...]

# Values after aliases are expanded, and the longest scalar: far past any real
# pipeline (a few hundred values, a command of a few lines), far below harm.
MAX_VALUES = 20_000
MAX_SCALAR_CHARS = 64 * 1024
# Collections are built as plain dicts and lists: another tag (!!python/object,
# !!set, !!omap) would mean something they cannot hold, so it is refused, not ignored.
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


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


class _Builder:
    """Plain data from composed nodes, with marks, within ``MAX_VALUES``."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.marks: dict[KeyPath, Mark] = {}
        self.values: dict[KeyPath, Mark] = {}
        self.count = 0
        self.open: set[int] = set()  # nodes being built: meeting one again is a recursive alias
        self.scalars = _Scalars()

    def fail(self, node: yaml.Node, path: KeyPath, why: str) -> ConfigError:
        m = _mark(node)
        return ConfigError(f"{self.file}:{m.line}:{m.column}: {format_key_path(path)}: {why}")

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(
                node,
                path,
                f"the file expands to more than {MAX_VALUES:,} values (aliases included: an "
                "alias bomb?); write the values out or use fewer aliases",
            )
        if id(node) in self.open:
            raise self.fail(node, path, "this alias refers to itself (a recursive alias); remove it")
        mark = _mark(node)
        self.marks.setdefault(path, mark)
        self.values[path] = mark
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(
                node,
                path,
                f"the tag {node.tag} is not allowed: a pipeline file holds plain mappings, lists and values",
            )
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "a key must be a plain name, not a list or mapping")
            raw_key = self.scalar(key_node, path)
            key = raw_key if isinstance(raw_key, str) else str(raw_key)
            if key in out:
                raise self.fail(
                    key_node, (*path, key), f"duplicate key {key!r} (it was already set above); keep one"
                )
            self.marks[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key))
        return out

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if len(node.value) > MAX_SCALAR_CHARS:
            raise self.fail(
                node,
                path,
                f"a value of {len(node.value):,} characters (at most {MAX_SCALAR_CHARS:,}); "
                "put long content in a file and name the file",
            )
        try:
            return self.scalars.construct(node)
        except yaml.YAMLError as exc:
            # A tag the safe loader refuses (!!python/object...) or a malformed one.
            problem = getattr(exc, "problem", None) or str(exc)
            raise self.fail(node, path, f"invalid YAML value: {problem}") from None
        except ValueError:
            # int() of a number with more digits than Python converts (4300 by default).
            raise self.fail(node, path, f"a number of {len(node.value):,} digits; far too long") from None


def _construct(node: yaml.Node) -> Any:
    """A scalar through the safe constructor (so ``on``/``1.0``/``null`` mean what YAML says)."""
    return _Scalars().construct(node)


class _Scalars:
    """One safe constructor for all the scalars of a file (making one per scalar cost
    more than everything else the loader does)."""

    def __init__(self) -> None:
        self.loader = yaml.SafeLoader("")

    def construct(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node)
        finally:
            # Forget the node: a failed construction must not leave the constructor half-way.
            self.loader.constructed_objects.pop(node, None)
            self.loader.recursive_objects.pop(node, None)


def load_yaml(path: Path) -> Loaded:
    """Read ``path`` safely, within limits; errors name file:line:column."""
    text = read_config_text(path)
    try:
        node = compose(text, str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    builder = _Builder(path)
    data = {} if node is None else builder.build(node, ())
    return Loaded(data=data, marks=builder.marks, path=path, value_marks=builder.values)
