"""What every detector reads: the repository, where its Python project is, its CI."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.detect.ci import Ci, read_ci
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.repo import Repo, parent, under

# Files that make a folder a Python project.
PROJECT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "requirements.in",
    "Pipfile",
    "manage.py",
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
)
# Folder names that usually hold the backend of a repository with several parts.
_BACKEND_NAMES = ("backend", "api", "server", "app", "service", "src")


@dataclass(frozen=True, slots=True)
class ProjectDir:
    path: Finding[str]
    questions: tuple[Question, ...]


def find_project(repo: Repo) -> ProjectDir:
    """The folder of the Python project: the root, or one folder below it (a monorepo's backend)."""
    candidates: dict[str, str] = {}
    for rel in repo.files:
        parts = rel.split("/")
        if len(parts) > 3 or parts[-1] not in PROJECT_MARKERS:
            continue
        if len(parts) == 2 and parts[0] == "requirements":
            continue
        folder = parent(rel)
        candidates.setdefault(folder, rel)
    if "." in candidates:
        marker = candidates["."]
        return ProjectDir(detected(".", Source(marker), f"{marker} at the repository root"), ())
    # Folders inside another candidate (a workspace's members) are not the project.
    tops = sorted(c for c in candidates if not any(o != c and under(c, o) for o in candidates))
    if not tops:
        return ProjectDir(
            guessed(".", None, "no pyproject.toml, setup.py, requirements or manage.py found"),
            (Question("project", "no Python project found: where is the backend?"),),
        )
    if len(tops) == 1:
        only = tops[0]
        return ProjectDir(
            detected(only, Source(candidates[only]), f"the only Python project: {candidates[only]}"), ()
        )
    with_tests = [c for c in tops if repo.is_dir(f"{c}/tests") or repo.exists(f"{c}/manage.py")]
    ranked = sorted(
        with_tests or tops,
        key=lambda c: (c.split("/")[-1] not in _BACKEND_NAMES, c.count("/"), c),
    )
    choice = ranked[0]
    return ProjectDir(
        guessed(choice, Source(candidates[choice]), f"one of {len(tops)} Python projects: {', '.join(tops)}"),
        (
            Question(
                "project",
                f"several Python projects ({', '.join(tops)}); which one's tests should Slipway run?",
                tuple(Source(candidates[c]) for c in tops),
                tuple(tops),
            ),
        ),
    )


class Context:
    """A repository being detected: shared by the detectors, read once."""

    def __init__(self, root: Path | str) -> None:
        self.repo = Repo(Path(root))
        self.project_dir = find_project(self.repo)

    @property
    def project(self) -> str:
        """The Python project's folder, relative to the root ("." for the root)."""
        return self.project_dir.path.value

    @cached_property
    def ci(self) -> Ci:
        return read_ci(self.repo)

    def path(self, rel: str) -> str:
        """``rel`` (relative to the project) as a path relative to the repository root."""
        return self.repo.join(self.project, rel)
