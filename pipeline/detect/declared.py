"""What the project declares: its pyproject files (a uv workspace's members too), its
requirement files, and every distribution named in them, with where."""

from __future__ import annotations

import fnmatch
import re

from packaging.utils import canonicalize_name

from pipeline.detect.context import Context
from pipeline.detect.findings import Source
from pipeline.detect.repo import relative

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def pyprojects(ctx: Context) -> list[str]:
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
    for rel in pyprojects(ctx):
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
