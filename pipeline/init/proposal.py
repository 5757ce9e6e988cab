"""What ``init`` proposes for a repository: each value of pipeline.yaml (and of the test
image) it would write, with the note a reader sees beside it: where it was read
(``detected at file:line``) or why it was assumed (``guessed``).

``propose(detection)`` is pure: it reads a ``Detection`` and decides; ``render`` writes
the proposal as YAML, ``dockerfile`` as Dockerfile.test, and ``check`` compares it with
an existing pipeline.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline.detect import Detection, Finding

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Chosen(Generic[T]):
    """A value init writes, and the note that explains it."""

    value: T
    note: str
    detected: bool = True


def note_of(finding: Finding[Any], what: str = "") -> str:
    """``detected at pyproject.toml:5: requires-python`` / ``guessed: <why>``."""
    where = f" at {finding.source}" if finding.source else ""
    prefix = f"{what}: " if what else ""
    return f"{prefix}{finding.certainty}{where}: {finding.why}"


def chosen(finding: Finding[T], what: str = "") -> Chosen[T]:
    return Chosen(finding.value, note_of(finding, what), finding.detected)


@dataclass(frozen=True, slots=True)
class ServicePlan:
    name: str
    image: Chosen[str]
    env: Mapping[str, str]
    port: int | None
    readiness: tuple[str, ...] | None  # a readiness command; None: the port


@dataclass(frozen=True, slots=True)
class DatabasePlan:
    service: str
    name: Chosen[str]
    migrate: Chosen[tuple[str, ...]] | None
    migrate_cwd: str | None
    per_worker: Chosen[str]
    env: Chosen[dict[str, str]] | None  # None: Slipway's default (DATABASE_URL)
    notes: tuple[str, ...] = ()  # said as comments (what the mode is, what the conftest does)


@dataclass(frozen=True, slots=True)
class CoveragePlan:
    source: tuple[str, ...]
    threshold: float | None
    note: str


@dataclass(frozen=True, slots=True)
class TestStage:
    __test__ = False  # not a pytest test class

    name: str
    note: str
    paths: tuple[str, ...]
    markers: str | None
    services: tuple[str, ...]
    database: DatabasePlan | None
    database_note: str | None  # why the group needs the database


@dataclass(frozen=True, slots=True)
class FrontendStage:
    name: str
    path: str
    image: Chosen[str]
    commands: tuple[tuple[str, ...], ...]
    note: str


@dataclass(frozen=True, slots=True)
class BuildStage:
    name: str
    target: str
    note: str


@dataclass(frozen=True, slots=True)
class TestImage:
    """The test base image: the project's own Dockerfile.test, or the one init writes."""

    __test__ = False

    dockerfile: str  # relative to the repository root
    existing: bool  # the project has it; init does not write it
    python: Chosen[str]
    manager: Chosen[str]
    install: Chosen[tuple[tuple[str, ...], ...]]
    key_files: tuple[Chosen[str], ...]
    extra_packages: tuple[str, ...]  # what Slipway needs that the project does not declare
    groups: tuple[str, ...]  # dependency groups / extras the tests need
    workspace: bool  # a uv workspace: its members' dependencies, not the members
    project_dir: str  # the Python project, relative to the root


@dataclass(frozen=True, slots=True)
class Proposal:
    root: str
    project_name: Chosen[str]
    workdir: Chosen[str]
    image: TestImage
    services: tuple[ServicePlan, ...]
    tests: tuple[TestStage, ...]
    coverage: CoveragePlan | None
    pythonpath: Chosen[tuple[str, ...]] | None  # the project's import roots (not installed in the image)
    frontends: tuple[FrontendStage, ...]
    bake_file: str | None
    builds: tuple[BuildStage, ...]
    questions: tuple[str, ...]
    answered: tuple[str, ...]  # questions of detection that Slipway answers itself
    aliases: dict[str, str] = field(default_factory=dict)  # filled by the command (local images)

    def images(self) -> list[str]:
        """Every image reference the pipeline uses (for aliases)."""
        refs = [f"python:{self.image.python.value}-slim"]
        refs += [s.image.value for s in self.services]
        refs += [f.image.value for f in self.frontends]
        return list(dict.fromkeys(refs))


def slug(text: str, default: str = "project") -> str:
    """A name pipeline.yaml accepts (``^[a-z0-9][a-z0-9_.-]*$``)."""
    out = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return out or default


def project_name(detection: Detection, toml: Mapping[str, Any]) -> Chosen[str]:
    name = toml.get("project", {}).get("name") or toml.get("tool", {}).get("poetry", {}).get("name")
    if isinstance(name, str) and name:
        return Chosen(slug(name), "detected: the package's name in pyproject.toml")
    folder = detection.root.rstrip("/").rsplit("/", 1)[-1]
    return Chosen(slug(folder), "guessed: the repository folder's name", detected=False)
