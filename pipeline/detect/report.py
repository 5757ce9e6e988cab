"""Everything detected about a repository, with where each finding came from, and the open questions."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.detect.context import Context
from pipeline.detect.coverage import Coverage, detect_coverage
from pipeline.detect.database import Database, detect_database
from pipeline.detect.dependencies import Dependencies, detect_dependencies
from pipeline.detect.findings import Finding, Question
from pipeline.detect.frontend import Frontend, detect_frontends
from pipeline.detect.images import Images, detect_images
from pipeline.detect.python_version import PythonVersion, detect_python_version
from pipeline.detect.services import Services, detect_services
from pipeline.detect.tests_layout import TestsLayout, detect_tests_layout


@dataclass(frozen=True, slots=True)
class Detection:
    root: str  # the repository, absolute
    project: Finding[str]  # the Python project's folder, relative to the root
    ci_files: tuple[str, ...]
    python: PythonVersion
    dependencies: Dependencies
    tests: TestsLayout
    services: Services
    database: Database
    coverage: Coverage
    frontends: tuple[Frontend, ...]
    images: Images
    questions: tuple[Question, ...]  # every open question, from all detectors

    def findings(self) -> Iterator[tuple[str, Finding[Any]]]:
        """Every finding, with a dotted name saying what it is (``database.mode``, ``tests.groups[1]``)."""
        yield from _walk("project", self.project)
        for name in ("python", "dependencies", "tests", "services", "database", "coverage", "images"):
            yield from _walk(name, getattr(self, name))
        for index, frontend in enumerate(self.frontends):
            yield from _walk(f"frontends[{index}]", frontend)

    def explain(self) -> str:
        """One line per finding, then the questions: what ``init`` prints."""
        lines = [f"{name}: {finding}" for name, finding in self.findings()]
        if self.questions:
            lines.append("questions:")
            lines += [f"  - {q}" for q in self.questions]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        return _plain(self)  # type: ignore[no-any-return]


def _walk(name: str, value: Any) -> Iterator[tuple[str, Finding[Any]]]:
    if isinstance(value, Finding):
        yield name, value
        if dataclasses.is_dataclass(value.value):
            yield from _walk(name, value.value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "questions":
                yield from _walk(f"{name}.{f.name}", getattr(value, f.name))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            if isinstance(item, Finding) or dataclasses.is_dataclass(item):
                yield from _walk(f"{name}[{index}]", item)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def detect(root: Path | str) -> Detection:
    """Read the repository at ``root`` and say what runs its CI (reads only; writes nothing)."""
    ctx = Context(root)
    python = detect_python_version(ctx)
    deps = detect_dependencies(ctx)
    tests = detect_tests_layout(ctx)
    services = detect_services(ctx, deps)
    database = detect_database(ctx, deps, tests, services)
    coverage = detect_coverage(ctx, tests)
    frontends = detect_frontends(ctx)
    images = detect_images(ctx)
    questions = [
        *ctx.project_dir.questions,
        *python.questions,
        *deps.questions,
        *tests.questions,
        *services.questions,
        *database.questions,
        *coverage.questions,
        *(q for f in frontends for q in f.questions),
        *images.questions,
        *ctx.repo.problems,
    ]
    return Detection(
        root=str(ctx.repo.root),
        project=ctx.project_dir.path,
        ci_files=ctx.ci.files,
        python=python,
        dependencies=deps,
        tests=tests,
        services=services,
        database=database,
        coverage=coverage,
        frontends=frontends,
        images=images,
        questions=tuple(dict.fromkeys(questions)),
    )
