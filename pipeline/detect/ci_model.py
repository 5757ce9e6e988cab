"""What the CI readers return: jobs, their shell commands (split into argv), env and services."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pipeline.detect.findings import Source

System = Literal["github", "gitlab", "woodpecker"]

_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")"})


@dataclass(frozen=True, slots=True)
class Command:
    """One shell line a job runs, in the folder it runs in (relative to the repository)."""

    text: str
    source: Source
    job: str
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)

    def argvs(self) -> list[tuple[str, ...]]:
        """The simple commands on the line (split at ``&&``, ``;``, ``|``), each as argv."""
        lexer = shlex.shlex(self.text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            return [tuple(self.text.split())]
        out: list[tuple[str, ...]] = []
        current: list[str] = []
        for token in tokens:
            if token in _OPERATORS:
                if current:
                    out.append(tuple(current))
                current = []
            else:
                current.append(token)
        if current:
            out.append(tuple(current))
        # Leading VAR=value assignments are environment, not the program.
        return [tuple(_drop_assignments(argv)) for argv in out if _drop_assignments(argv)]


def _drop_assignments(argv: tuple[str, ...]) -> list[str]:
    rest = list(argv)
    while rest and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        rest.pop(0)
    if rest[:1] == ["env"]:
        return _drop_assignments(tuple(rest[1:]))
    return rest


@dataclass(frozen=True, slots=True)
class CiService:
    """A service container a job declares (GitHub ``services:``, GitLab, Woodpecker)."""

    name: str
    image: str
    env: Mapping[str, str]
    ports: tuple[str, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class CiJob:
    system: System
    name: str
    source: Source
    commands: tuple[Command, ...]
    env: Mapping[str, str]
    images: tuple[tuple[str, Source], ...]
    python_versions: tuple[tuple[str, Source], ...]
    services: tuple[CiService, ...]


@dataclass(frozen=True, slots=True)
class Ci:
    files: tuple[str, ...]
    jobs: tuple[CiJob, ...]

    def commands(self) -> list[Command]:
        return [c for job in self.jobs for c in job.commands]


_PY_IMAGE = re.compile(r"(?:^|/)python:(?P<v>\d+\.\d+)|(?:^|/)uv:python(?P<u>\d+\.\d+)")


def python_of_image(image: str) -> str | None:
    """``3.11`` for ``python:3.11-slim`` (or ``ghcr.io/astral-sh/uv:python3.12-bookworm``)."""
    m = _PY_IMAGE.search(image)
    if m is None:
        return None
    return m.group("v") or m.group("u")
