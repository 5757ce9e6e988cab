"""Frontends: package.json files with lint / typecheck / test / build scripts, and their package manager."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.images import dockerfiles
from pipeline.detect.repo import parent, under

# The checks a CI runs, in the order it runs them; the first script present of each.
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lint", ("lint", "eslint")),
    ("typecheck", ("typecheck", "type-check", "check-types", "tsc", "types")),
    ("test", ("test", "test:unit", "test:ci")),
    ("build", ("build",)),
)
_LOCKS = (
    ("package-lock.json", "npm", ("npm", "ci")),
    ("npm-shrinkwrap.json", "npm", ("npm", "ci")),
    ("pnpm-lock.yaml", "pnpm", ("pnpm", "install", "--frozen-lockfile")),
    ("yarn.lock", "yarn", ("yarn", "install", "--frozen-lockfile")),
    ("bun.lockb", "bun", ("bun", "install", "--frozen-lockfile")),
    ("bun.lock", "bun", ("bun", "install", "--frozen-lockfile")),
)


@dataclass(frozen=True, slots=True)
class Frontend:
    path: str  # the folder with package.json, relative to the root
    package_manager: Finding[str]  # npm | pnpm | yarn | bun
    install: tuple[str, ...]
    scripts: tuple[Finding[str], ...]  # lint, typecheck, test, build: the script names found
    commands: tuple[tuple[str, ...], ...]  # install, then the checks in order
    node: Finding[str] | None  # the Node major version
    questions: tuple[Question, ...]


def _run(manager: str, script: str) -> tuple[str, ...]:
    if script == "test" and manager in ("npm", "yarn", "pnpm", "bun"):
        return (manager, "test")
    return (manager, "run", script)


def detect_frontends(ctx: Context) -> tuple[Frontend, ...]:
    repo = ctx.repo
    out = []
    for rel in repo.named("package.json", max_depth=3):
        folder = parent(rel)
        try:
            data = json.loads(repo.text(rel) or "{}")
        except json.JSONDecodeError as exc:
            repo.problems.append(Question("frontend", f"{rel} is not valid JSON: {exc}", (Source(rel),)))
            continue
        scripts = data.get("scripts") if isinstance(data, dict) else None
        if not isinstance(scripts, dict):
            continue
        found: list[Finding[str]] = []
        for check, names in CHECKS:
            name = next((n for n in names if n in scripts), None)
            if name is not None:
                found.append(
                    detected(
                        name, repo.source(rel, r"^\s*\"" + re.escape(name) + r"\"\s*:"), f"{check} script"
                    )
                )
        if not found:
            continue
        questions: list[Question] = []
        manager: Finding[str] | None = None
        install: tuple[str, ...] = ()
        for lock, name, argv in _LOCKS:
            lock_rel = repo.join(folder, lock)
            if repo.exists(lock_rel):
                manager, install = detected(name, Source(lock_rel), lock), argv
                if name == "yarn" and repo.exists(repo.join(folder, ".yarnrc.yml")):
                    install = ("yarn", "install", "--immutable")  # yarn 2+
                break
        if manager is None:
            declared = data.get("packageManager")
            if isinstance(declared, str) and declared:
                name = declared.split("@", 1)[0]
                manager = detected(name, repo.source(rel, r"\"packageManager\""), "packageManager")
                install = (name, "install")
            else:
                manager = guessed("npm", Source(rel), "no lock file")
                install = ("npm", "install")
            questions.append(
                Question(
                    "frontend", f"{folder}: no lock file, so the install is not reproducible", (Source(rel),)
                )
            )
        commands = (install, *(_run(manager.value, f.value) for f in found))
        out.append(
            Frontend(
                folder, manager, install, tuple(found), commands, _node(ctx, folder, data), tuple(questions)
            )
        )
    return tuple(out)


def _node(ctx: Context, folder: str, data: dict[str, object]) -> Finding[str] | None:
    repo = ctx.repo
    for name in (".nvmrc", ".node-version"):
        rel = repo.join(folder, name)
        text = (repo.text(rel) or "").strip()
        m = re.match(r"^v?(\d+)", text)
        if m:
            return detected(m.group(1), Source(rel, 1), name)
    for dockerfile in dockerfiles(repo):
        if under(dockerfile.path, folder):
            for image, line in dockerfile.bases:
                m = re.search(r"(?:^|/)node:(\d+)", image)
                if m:
                    return detected(m.group(1), Source(dockerfile.path, line), f"FROM {image}")
    engines = data.get("engines")
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        m = re.search(r"(\d+)", engines["node"])
        if m:
            return guessed(
                m.group(1),
                repo.source(repo.join(folder, "package.json"), r"\"node\"\s*:"),
                "engines.node (a range)",
            )
    return None
