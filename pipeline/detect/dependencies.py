"""How the project's dependencies are declared, locked and installed.

Managers: uv, poetry, pdm, pipenv, pip-tools (requirements.in compiled to
requirements.txt), plain requirements files, or the project itself installed with
pip (setuptools, hatchling ...). The install commands are the CI's own when it has
them; otherwise the manager's usual ones, marked as guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from pipeline.detect.context import Context
from pipeline.detect.declared import declared_packages, requirement_files, workspace_members
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.installs import ci_installs, default_install, editable, manager_of, test_groups


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The dependency manager, its files, and how the CI installs."""

    manager: Finding[str]  # uv | poetry | pdm | pipenv | pip-tools | pip
    files: tuple[Finding[str], ...]  # lock and requirement files (what a test image is keyed on)
    install: Finding[tuple[tuple[str, ...], ...]]
    editable: Finding[bool]  # whether the install makes the project importable by name
    test_groups: Finding[tuple[str, ...]] | None  # dependency groups / extras the tests need
    workspace_members: tuple[str, ...]  # uv workspace members, relative to the project
    packages: dict[str, Source]  # every declared distribution (canonical name) -> where
    questions: tuple[Question, ...]

    def has(self, *names: str) -> Source | None:
        """Where the first of ``names`` is declared, if any is."""
        for name in names:
            src = self.packages.get(canonicalize_name(name))
            if src is not None:
                return src
        return None


def detect_dependencies(ctx: Context) -> Dependencies:
    repo = ctx.repo
    questions: list[Question] = []
    pyproject_rel = ctx.path("pyproject.toml")
    pyproject: dict[str, Any] = repo.toml(pyproject_rel) or {}
    tool = pyproject.get("tool", {})
    members = workspace_members(ctx)
    reqs = requirement_files(ctx)
    files: list[Finding[str]] = []

    def lock(name: str) -> str | None:
        rel = ctx.path(name)
        return rel if repo.exists(rel) else None

    manager: Finding[str]
    if (rel := lock("uv.lock")) is not None:
        manager = detected("uv", Source(rel), "uv.lock")
        files.append(detected(rel, Source(rel), "uv's lock file"))
    elif (rel := lock("poetry.lock")) is not None:
        manager = detected("poetry", Source(rel), "poetry.lock")
        files.append(detected(rel, Source(rel), "poetry's lock file"))
    elif (rel := lock("pdm.lock")) is not None:
        manager = detected("pdm", Source(rel), "pdm.lock")
        files.append(detected(rel, Source(rel), "pdm's lock file"))
    elif (rel := lock("Pipfile.lock")) is not None:
        manager = detected("pipenv", Source(rel), "Pipfile.lock")
        files.append(detected(rel, Source(rel), "pipenv's lock file"))
    elif "poetry" in tool and "dependencies" in tool["poetry"]:
        src = repo.toml_source(pyproject_rel, "tool.poetry.dependencies")
        manager = detected("poetry", src, "[tool.poetry.dependencies] without a poetry.lock")
        questions.append(
            Question("dependencies", "poetry project without poetry.lock: versions are not pinned", (src,))
        )
    elif "uv" in tool:
        src = repo.toml_source(pyproject_rel, "tool.uv")
        manager = detected("uv", src, "[tool.uv] without a uv.lock")
        questions.append(
            Question("dependencies", "uv project without uv.lock: versions are not pinned", (src,))
        )
    elif "pdm" in tool:
        manager = detected("pdm", repo.toml_source(pyproject_rel, "tool.pdm"), "[tool.pdm]")
    elif any(r.endswith(".in") for r in reqs) and _compiled(ctx, reqs):
        compiled = _compiled(ctx, reqs)
        manager = detected(
            "pip-tools", Source(compiled[0], 1), "requirements compiled by pip-compile from .in files"
        )
    elif reqs:
        manager = detected("pip", Source(reqs[0]), "requirements files")
    elif pyproject.get("project") or repo.exists(ctx.path("setup.py")) or repo.exists(ctx.path("setup.cfg")):
        manifest = pyproject_rel if pyproject.get("project") else ctx.path("setup.py")
        manager = detected(
            "pip", Source(manifest), "a package installed with pip (no lock or requirements file)"
        )
        questions.append(
            Question(
                "dependencies",
                "no lock file: the dependencies' versions are whatever PyPI has on the day",
                (Source(manifest),),
            )
        )
    else:
        manager = guessed("pip", None, "nothing declares the dependencies")
        questions.append(
            Question("dependencies", "no dependency files found: how are the dependencies installed?")
        )
    for rel in reqs:
        if rel.endswith(".txt"):
            files.append(detected(rel, Source(rel), "requirements file"))
    if manager.value not in ("pip", "pip-tools") and repo.exists(pyproject_rel):
        files.append(detected(pyproject_rel, Source(pyproject_rel), "declares the dependencies"))
    for member in members:
        member_rel = ctx.path(f"{member}/pyproject.toml")
        files.append(detected(member_rel, Source(member_rel), "workspace member"))

    installs = ci_installs(ctx)
    install: Finding[tuple[tuple[str, ...], ...]]
    if installs:
        where = installs[0][1]
        install = detected(
            tuple(a for a, _ in installs), where, "the install commands of the CI job that runs the tests"
        )
        ci_managers = {manager_of(a) for a, _ in installs} - {"pip"}
        if ci_managers and manager.value not in ci_managers and manager.value != "pip-tools":
            questions.append(
                Question(
                    "dependencies",
                    f"the files say {manager.value} but the CI installs with "
                    f"{', '.join(sorted(ci_managers))}",
                    (where,),
                )
            )
    else:
        install = guessed(
            default_install(ctx, manager.value, reqs, pyproject, members),
            None,
            f"the usual {manager.value} install",
        )

    is_editable = editable(ctx, manager.value, pyproject, installs, members)
    groups = test_groups(ctx, manager.value, pyproject)
    return Dependencies(
        manager=manager,
        files=tuple(files),
        install=install,
        editable=is_editable,
        test_groups=groups,
        workspace_members=tuple(members),
        packages=declared_packages(ctx),
        questions=tuple(questions),
    )


def _compiled(ctx: Context, reqs: list[str]) -> list[str]:
    out = []
    for rel in reqs:
        head = "\n".join((ctx.repo.text(rel) or "").splitlines()[:8])
        if rel.endswith(".txt") and ("pip-compile" in head or "uv pip compile" in head):
            out.append(rel)
    return out
