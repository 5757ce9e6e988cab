"""YAML text to one node tree, within limits: depth, node count, anchors.

PyYAML's own composer recurses (a few thousand ``[`` overflow Python's stack)
and has no limits, and its pure-Python scanner needs tens of seconds for a
megabyte. So the parsing is libyaml's (PyYAML's C parser when it is built with
it, its pure-Python parser otherwise: both hand out the same events, without
recursion), and the composing is this loop, which stops at the first node past
``MAX_DEPTH`` or ``MAX_NODES`` with its line and column.

Aliases become the anchored node itself, as PyYAML's composer does; expanding
them (and refusing an alias bomb or a recursive alias) is the builder's job in
``yamlload``.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.model.errors import ConfigError

# Far past any real pipeline (a dozen levels, a few hundred nodes), far below harm.
MAX_DEPTH = 64
MAX_NODES = 20_000

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


def compose(text: str, name: str) -> yaml.Node | None:
    """The single document of ``text`` as nodes (None for an empty file); raises
    ConfigError past a limit and PyYAML's errors for invalid YAML."""
    parser = None
    try:
        parser = _Parser(text)  # the pure-Python reader checks every character here
        return _Composer(parser, name).document()
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in UTF-8 bytes, PyYAML's reader in characters.
        at = exc.position
        if parser is not None and _Parser is not yaml.SafeLoader:
            at = len(text.encode("utf-8")[: exc.position].decode("utf-8", errors="ignore"))
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise ConfigError(
            f"{name}:{line}:{column}: character U+{char:04X} is not allowed in YAML; remove it"
        ) from None
    finally:
        if parser is not None:
            parser.dispose()


class _Composer:
    def __init__(self, parser: Any, name: str) -> None:
        self.parser, self.name = parser, name
        self.anchors: dict[str, yaml.Node] = {}
        self.count = 0

    def tag(self, event: Any, kind: type[yaml.Node], value: str | None) -> str:
        """The event's explicit tag, or the one YAML's rules give (so ``on``/``1.0``/``null``
        mean what they mean to every YAML reader)."""
        if event.tag not in (None, "!"):
            return str(event.tag)
        return str(self.parser.resolve(kind, value, event.implicit))

    def fail(self, mark: Any, why: str) -> ConfigError:
        return ConfigError(f"{self.name}:{mark.line + 1}:{mark.column + 1}: {why}")

    def document(self) -> yaml.Node | None:
        self.parser.get_event()  # StreamStart
        if self.parser.check_event(yaml.StreamEndEvent):
            return None
        self.parser.get_event()  # DocumentStart
        root = self.nodes()
        self.parser.get_event()  # DocumentEnd
        if not self.parser.check_event(yaml.StreamEndEvent):
            extra = self.parser.get_event()
            raise self.fail(extra.start_mark, "a second YAML document (---); pipeline.yaml holds one")
        return root

    def nodes(self) -> yaml.Node:
        """Events to nodes until the document's root is complete, with a stack, not recursion."""
        root: yaml.Node | None = None
        stack: list[yaml.Node] = []
        pending_key: list[yaml.Node | None] = []  # per open mapping: a key waiting for its value
        while True:
            event = self.parser.get_event()
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                pending_key.pop()
                if not stack:
                    assert root is not None
                    return root
                continue
            node = self.node(event)
            if stack:
                parent = stack[-1]
                if isinstance(parent, yaml.SequenceNode):
                    parent.value.append(node)
                elif pending_key[-1] is None:
                    pending_key[-1] = node
                else:
                    parent.value.append((pending_key[-1], node))
                    pending_key[-1] = None
            else:
                root = node
            if isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(
                        event.start_mark,
                        f"nested more than {MAX_DEPTH} levels deep; a pipeline file needs a dozen "
                        "at most: flatten it",
                    )
                stack.append(node)
                pending_key.append(None)
            elif not stack:
                return node  # the document is one scalar or alias

    def node(self, event: Any) -> yaml.Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                event.start_mark,
                f"more than {MAX_NODES:,} values; a pipeline file has a few hundred: check that "
                "--config names the right file",
            )
        start: Any = event.start_mark  # libyaml's marks are their own type, with the same fields
        if isinstance(event, yaml.AliasEvent):
            found = self.anchors.get(str(event.anchor))
            if found is None:
                raise self.fail(start, f"alias *{event.anchor} names no anchor (&{event.anchor}) above it")
            return found
        node: yaml.Node
        if isinstance(event, yaml.ScalarEvent):
            tag = self.tag(event, yaml.ScalarNode, event.value)
            end: Any = event.end_mark
            node = yaml.ScalarNode(tag, event.value, start, end, style=event.style)
        elif isinstance(event, yaml.SequenceStartEvent):
            tag = self.tag(event, yaml.SequenceNode, None)
            node = yaml.SequenceNode(tag, [], start, None, flow_style=event.flow_style)
        else:
            tag = self.tag(event, yaml.MappingNode, None)
            node = yaml.MappingNode(tag, [], start, None, flow_style=event.flow_style)
        if event.anchor is not None:
            if event.anchor in self.anchors:
                first = self.anchors[event.anchor].start_mark
                raise self.fail(
                    event.start_mark,
                    f"anchor &{event.anchor} is defined twice (first at line {first.line + 1}); rename one",
                )
            self.anchors[event.anchor] = node
        return node
