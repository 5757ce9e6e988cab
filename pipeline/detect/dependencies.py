"""How the project's dependencies are declared, locked and installed.

Managers: uv, poetry, pdm, pipenv, pip-tools (requirements.in compiled to
requirements.txt), plain requirements files, or the project itself installed with
pip (setuptools, hatchling ...). The install commands are the CI's own when it has
them; otherwise the manager's usual ones, marked as guessed.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from pipeline.detect.ci import Command
from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.repo import relative, under

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_TEST_EXTRAS = ("test", "tests", "testing", "dev")


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


def _pyprojects(ctx: Context) -> list[str]:
    """The project's pyproject.toml and its workspace members'."""
    out = []
    root = ctx.path("pyproject.toml")
    if ctx.repo.exists(root):
        out.append(root)
    for member in workspace_members(ctx):
        rel = ctx.path(f"{member}/pyproject.toml")
        if ctx.repo.exists(rel):
            out.append(rel)
    return out


def workspace_members(ctx: Context) -> list[str]:
    """uv workspace members (folders relative to the project), globs expanded."""
    data = ctx.repo.toml(ctx.path("pyproject.toml")) or {}
    members = data.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
    exclude = data.get("tool", {}).get("uv", {}).get("workspace", {}).get("exclude", [])
    out: list[str] = []
    for pattern in members if isinstance(members, list) else []:
        for rel in ctx.repo.glob(f"{pattern}/pyproject.toml", under=ctx.project):
            folder = relative(rel, ctx.project).rsplit("/", 1)[0]
            if folder not in out and not any(
                fnmatch.fnmatchcase(folder, e) for e in exclude if isinstance(e, str)
            ):
                out.append(folder)
    return sorted(out)


def requirement_files(ctx: Context) -> list[str]:
    """requirements*.txt / *.in in the project and its requirements/ folder."""
    found = ctx.repo.named(
        "requirements*.txt", "requirements*.in", "*requirements.txt", under=ctx.project, max_depth=0
    )
    found += ctx.repo.glob("requirements/*.txt", "requirements/*.in", under=ctx.project)
    return sorted(set(found))


def _declare(packages: dict[str, Source], name: str, src: Source) -> None:
    key = canonicalize_name(name)
    if key != "python":
        packages.setdefault(key, src)


def _requirement_name(spec: str) -> str | None:
    m = _NAME.match(spec)
    return m.group(1) if m else None


def declared_packages(ctx: Context) -> dict[str, Source]:
    """Every distribution the project declares (runtime, optional, groups, dev), with where."""
    packages: dict[str, Source] = {}
    repo = ctx.repo
    for rel in _pyprojects(ctx):
        data = repo.toml(rel) or {}
        specs: list[str] = []
        project = data.get("project", {})
        specs += [s for s in project.get("dependencies", []) if isinstance(s, str)]
        for extra in project.get("optional-dependencies", {}).values():
            specs += [s for s in extra if isinstance(s, str)]
        for group in data.get("dependency-groups", {}).values():
            specs += [s for s in group if isinstance(s, str)]
        pdm_dev = data.get("tool", {}).get("pdm", {}).get("dev-dependencies", {})
        for group in pdm_dev.values() if isinstance(pdm_dev, dict) else []:
            specs += [s for s in group if isinstance(s, str)]
        for spec in specs:
            name = _requirement_name(spec)
            if name:
                _declare(packages, name, repo.source(rel, r"[\"']" + re.escape(name) + r"(?![A-Za-z0-9_-])"))
        poetry = data.get("tool", {}).get("poetry", {})
        tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
        tables += [g.get("dependencies", {}) for g in poetry.get("group", {}).values() if isinstance(g, dict)]
        for table in tables:
            for name in table if isinstance(table, dict) else {}:
                _declare(packages, name, repo.source(rel, r"^\s*\"?" + re.escape(name) + r"\"?\s*="))
    for rel in requirement_files(ctx):
        for number, raw in enumerate((repo.text(rel) or "").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            name = _requirement_name(line)
            if name:
                _declare(packages, name, Source(rel, number))
    pipfile = repo.toml(ctx.path("Pipfile")) or {}
    for table in ("packages", "dev-packages"):
        for name in pipfile.get(table, {}):
            _declare(
                packages, name, repo.source(ctx.path("Pipfile"), r"^\s*\"?" + re.escape(name) + r"\"?\s*=")
            )
    setup_cfg = repo.ini(ctx.path("setup.cfg"))
    if setup_cfg is not None and setup_cfg.has_option("options", "install_requires"):
        for spec in setup_cfg.get("options", "install_requires").splitlines():
            name = _requirement_name(spec)
            if name:
                _declare(packages, name, repo.source(ctx.path("setup.cfg"), re.escape(name)))
    return packages


# --- install commands in CI ---

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


def _editable_pip(argv: tuple[str, ...]) -> bool:
    return any(a in ("-e", "--editable") or a.startswith(("-e.", "--editable=")) for a in argv)


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
        ci_managers = {_manager_of(a) for a, _ in installs} - {"pip"}
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
            _default_install(ctx, manager.value, reqs, pyproject, members),
            None,
            f"the usual {manager.value} install",
        )

    editable = _editable(ctx, manager.value, pyproject, installs, members)
    test_groups = _test_groups(ctx, manager.value, pyproject)
    return Dependencies(
        manager=manager,
        files=tuple(files),
        install=install,
        editable=editable,
        test_groups=test_groups,
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


def _manager_of(argv: tuple[str, ...]) -> str:
    if argv[0] in ("uv", "poetry", "pdm", "pipenv"):
        return argv[0]
    if argv[0] == "pip-sync":
        return "pip-tools"
    if argv[0] == "pipx" and len(argv) > 2:
        return "pip"
    return "pip"


def _default_install(
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


def _editable(
    ctx: Context,
    manager: str,
    pyproject: dict[str, Any],
    installs: list[tuple[tuple[str, ...], Source]],
    members: list[str],
) -> Finding[bool]:
    repo = ctx.repo
    rel = ctx.path("pyproject.toml")
    for argv, src in installs:
        if argv[0] in ("pip", "pip3", "python", "python3", "uv") and _editable_pip(argv):
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


def _test_groups(ctx: Context, manager: str, pyproject: dict[str, Any]) -> Finding[tuple[str, ...]] | None:
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
