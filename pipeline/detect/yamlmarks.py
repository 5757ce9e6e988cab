"""YAML with the line of every key, for findings that say where they came from.

Scalars stay the text that was written: ``python-version: 3.10`` is "3.10", not
the float 3.1, and ``on:`` stays "on". Local tags (GitLab's ``!reference``) read
as null instead of failing the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Key = str | int


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based line of the key (or of the item, in a list)
    value_line: int  # 1-based line where the value starts
    block: bool  # the value is a literal or folded block scalar (| or >)


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """A parsed document: plain data, and the mark of each path into it."""

    data: Any
    marks: dict[tuple[Key, ...], Mark] = field(default_factory=dict)

    def line(self, *path: Key) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return mark.line
        return None

    def mark(self, *path: Key) -> Mark | None:
        return self.marks.get(tuple(path))


class _Loader(yaml.SafeLoader):
    pass


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    return None


_Loader.add_multi_constructor("!", _unknown_tag)


def _build(
    loader: _Loader, node: yaml.Node, path: tuple[Key, ...], marks: dict[tuple[Key, ...], Mark]
) -> Any:
    if node.tag.startswith("!"):
        return None  # a local tag (GitLab's !reference): its meaning is the tool's, not YAML's
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves << merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            child = (*path, key)
            marks[child] = Mark(
                key_node.start_mark.line + 1,
                value_node.start_mark.line + 1,
                isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"),
            )
            out[key] = _build(loader, value_node, child, marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            marks[child] = Mark(
                item.start_mark.line + 1,
                item.start_mark.line + 1,
                isinstance(item, yaml.ScalarNode) and item.style in ("|", ">"),
            )
            items.append(_build(loader, item, child, marks))
        return items
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null" and node.style is None:
            return None
        return str(node.value)
    return None


def load(text: str) -> list[YamlDoc]:
    """Every document in ``text`` (raises yaml.YAMLError on invalid YAML)."""
    loader = _Loader(text)
    docs: list[YamlDoc] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            marks: dict[tuple[Key, ...], Mark] = {
                (): Mark(node.start_mark.line + 1, node.start_mark.line + 1, False)
            }
            docs.append(YamlDoc(_build(loader, node, (), marks), marks))
    finally:
        loader.dispose()
    return docs
