"""GitHub's workflow commands (``::name key=value::message``), escaped as actions/toolkit
escapes them, and one annotation (``::error`` / ``::warning`` / ``::notice``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    """A workflow command's message, as actions/toolkit escapes it (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: the message's escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, message: str = "", **properties: str | int | None) -> str:
    """``::name key=value,...::message`` with every part escaped; None properties left out."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation:
    """One ``::error`` / ``::warning`` / ``::notice``; file is repository-relative, line 1-based."""

    level: Level
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None

    def render(self) -> str:
        return workflow_command(
            self.level,
            self.message,
            file=self.file,
            line=self.line if self.file else None,
            title=self.title,
        )
