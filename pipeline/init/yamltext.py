"""A small YAML writer that keeps comments: pipeline.yaml as ``init`` writes it, each choice
with its note beside or above it. Scalars are quoted by PyYAML's own rules, so what is
written reads back as the same value (the command loads it back to be sure)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import yaml

Scalar = str | int | float | bool | None
WIDTH = 110


def scalar(value: Scalar) -> str:
    """``value`` as a YAML flow scalar (quoted only where YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").removesuffix("...").strip()


def flow(values: Iterable[Scalar]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


class Writer:
    """Lines of YAML, built top to bottom."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def comment(self, text: str, indent: int = 0) -> None:
        pad = " " * indent
        for paragraph in text.split("\n"):
            wrapped = textwrap.wrap(paragraph, WIDTH - indent - 2, break_long_words=False) or [""]
            self.lines += [f"{pad}# {line}".rstrip() for line in wrapped]

    def key(self, indent: int, key: str, value: str | None = None, note: str | None = None) -> None:
        """``key: value`` (already YAML text), or ``key:`` opening a block; a note goes
        beside it when short, above it when not."""
        line = " " * indent + f"{scalar(key)}:" + (f" {value}" if value is not None else "")
        self._with_note(line, indent, note)

    def item(self, indent: int, value: str, note: str | None = None) -> None:
        self._with_note(" " * indent + f"- {value}", indent, note)

    def _with_note(self, line: str, indent: int, note: str | None) -> None:
        if note and len(line) + len(note) + 3 <= WIDTH:
            self.lines.append(f"{line}  # {note}")
            return
        if note:
            self.comment(note, indent)
        self.lines.append(line)

    def mapping(self, indent: int, items: Sequence[tuple[str, Scalar]]) -> None:
        for key, value in items:
            self.key(indent, key, scalar(value))

    def text(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"
