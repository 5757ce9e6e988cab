"""How the project's dependencies are installed: the CI's own install commands, else the
manager's usual ones; whether that makes the project importable by name (editable); the
dependency groups or extras the tests need."""

from __future__ import annotations

import re
from typing import Any

from pipeline.detect.ci import Command
from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Source, detected, guessed
from pipeline.detect.repo import relative, under

_TEST_EXTRAS = ("test", "tests", "testing", "dev")


_INSTALLERS = (
    ("pip", "install"),
    ("pip3", "install"),
    ("python", "-m", "pip", "install"),
    ("python3", "-m", "pip", "install"),
    ("uv", "sync"),
    ("uv", "pip", "install"),
    ("uv", "pip", "sync"),
    ("poetry", "install"),
    ("pdm", "install"),
    ("pdm", "sync"),
    ("pipenv", "install"),
    ("pipenv", "sync"),
    ("pip-sync",),
    ("pipx", "install"),
)


def is_install(argv: tuple[str, ...]) -> bool:
    return any(argv[: len(prefix)] == prefix for prefix in _INSTALLERS)


def _project_commands(ctx: Context) -> list[Command]:
    """CI commands that run in the project's folder (or the root, for a project at the root)."""
    return [c for c in ctx.ci.commands() if under(c.cwd, ctx.project) or under(ctx.project, c.cwd)]


def _test_jobs(ctx: Context) -> set[str]:
    return {c.job for c in _project_commands(ctx) for argv in c.argvs() if "pytest" in " ".join(argv)}


def ci_installs(ctx: Context) -> list[tuple[tuple[str, ...], Source]]:
    """The install commands of the CI jobs that run the tests (else of every job), in order."""
    jobs = _test_jobs(ctx)
    out: list[tuple[tuple[str, ...], Source]] = []
    seen: set[tuple[str, ...]] = set()
    for command in _project_commands(ctx):
        if jobs and command.job not in jobs:
            continue
        for argv in command.argvs():
            if is_install(argv) and argv not in seen:
                seen.add(argv)
                out.append((argv, command.source))
    return out


def editable_pip(argv: tuple[str, ...]) -> bool:
    return any(a in ("-e", "--editable") or a.startswith(("-e.", "--editable=")) for a in argv)


def manager_of(argv: tuple[str, ...]) -> str:
    if argv[0] in ("uv", "poetry", "pdm", "pipenv"):
        return argv[0]
    if argv[0] == "pip-sync":
        return "pip-tools"
    if argv[0] == "pipx" and len(argv) > 2:
        return "pip"
    return "pip"


def default_install(
    ctx: Context, manager: str, reqs: list[str], pyproject: dict[str, Any], members: list[str]
) -> tuple[tuple[str, ...], ...]:
    if manager == "uv":
        return (("uv", "sync", "--locked", *(("--all-packages",) if members else ())),)
    if manager == "poetry":
        return (("poetry", "install", "--no-interaction"),)
    if manager == "pdm":
        return (("pdm", "install", "--frozen-lockfile"),)
    if manager == "pipenv":
        return (("pipenv", "install", "--dev", "--deploy"),)
    txt = [relative(r, ctx.project) for r in reqs if r.endswith(".txt")]
    if txt:
        # A dev/test file usually includes the base one with -r.
        test_like = [r for r in txt if re.search(r"dev|test", r)]
        chosen = test_like or txt
        return (("pip", "install", *[x for r in chosen for x in ("-r", r)]),)
    extras = pyproject.get("project", {}).get("optional-dependencies", {})
    extra = next((e for e in _TEST_EXTRAS if e in extras), None)
    return (("pip", "install", "-e", f".[{extra}]" if extra else "."),)


def editable(
    ctx: Context,
    manager: str,
    pyproject: dict[str, Any],
    installs: list[tuple[tuple[str, ...], Source]],
    members: list[str],
) -> Finding[bool]:
    repo = ctx.repo
    rel = ctx.path("pyproject.toml")
    for argv, src in installs:
        if argv[0] in ("pip", "pip3", "python", "python3", "uv") and editable_pip(argv):
            return detected(True, src, "the CI installs the project editable (-e)")
    uv_package = pyproject.get("tool", {}).get("uv", {}).get("package")
    has_build = "build-system" in pyproject
    if manager == "uv":
        if uv_package is False or (uv_package is None and not has_build):
            if members:
                return detected(
                    True,
                    repo.toml_source(rel, "tool.uv.workspace", "members"),
                    "uv sync installs the workspace members",
                )
            why = (
                "tool.uv.package = false"
                if uv_package is False
                else "no [build-system]: uv does not install it"
            )
            return detected(False, repo.toml_source(rel, "tool.uv", "package"), why)
        return detected(
            True, repo.toml_source(rel, "build-system"), "uv sync installs the project itself (editable)"
        )
    if manager == "poetry":
        poetry = pyproject.get("tool", {}).get("poetry", {})
        if poetry.get("package-mode") is False:
            return detected(
                False, repo.toml_source(rel, "tool.poetry", "package-mode"), "package-mode = false"
            )
        if any(argv[:2] == ("poetry", "install") and "--no-root" in argv for argv, _ in installs):
            src = next(s for a, s in installs if a[:2] == ("poetry", "install"))
            return detected(False, src, "poetry install --no-root")
        return detected(
            True, repo.toml_source(rel, "tool.poetry"), "poetry install installs the project itself"
        )
    if manager == "pdm":
        return guessed(
            True, repo.toml_source(rel, "tool.pdm"), "pdm installs the project unless distribution = false"
        )
    if installs:
        return detected(False, installs[0][1], "the CI installs requirements only, not the project")
    if has_build:
        return guessed(
            True,
            repo.toml_source(rel, "build-system"),
            "a package with a [build-system]: installed with pip -e",
        )
    return guessed(False, None, "nothing installs the project itself")


def test_groups(ctx: Context, manager: str, pyproject: dict[str, Any]) -> Finding[tuple[str, ...]] | None:
    rel = ctx.path("pyproject.toml")
    repo = ctx.repo
    groups = pyproject.get("dependency-groups", {})
    if manager == "uv" and groups:
        defaults = pyproject.get("tool", {}).get("uv", {}).get("default-groups")
        if isinstance(defaults, list):
            return detected(
                tuple(defaults), repo.toml_source(rel, "tool.uv", "default-groups"), "tool.uv.default-groups"
            )
        if "dev" in groups:
            return detected(
                ("dev",),
                repo.toml_source(rel, "dependency-groups", "dev"),
                "uv installs the dev group by default",
            )
        return guessed(tuple(groups), repo.toml_source(rel, "dependency-groups"), "every dependency group")
    if manager == "poetry":
        names = tuple(pyproject.get("tool", {}).get("poetry", {}).get("group", {}))
        if names:
            return detected(
                names,
                repo.toml_source(rel, f"tool.poetry.group.{names[0]}.dependencies"),
                "poetry groups (installed by default)",
            )
    extras = pyproject.get("project", {}).get("optional-dependencies", {})
    for name in _TEST_EXTRAS:
        if name in extras:
            return detected(
                (name,), repo.toml_source(rel, "project.optional-dependencies", name), f"the [{name}] extra"
            )
    if groups:
        names = tuple(g for g in groups if g in _TEST_EXTRAS) or tuple(groups)
        return detected(names, repo.toml_source(rel, "dependency-groups"), "dependency groups")
    return None
