"""pytest's own configuration, read where pytest reads it (pytest.ini, pyproject.toml,
tox.ini, setup.cfg), with the line of each key, and the markers it declares."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Source, detected


@dataclass(frozen=True, slots=True)
class PytestConfig:
    source: Source | None
    values: dict[str, str | list[str]]
    lines: dict[str, int]


def pytest_config(ctx: Context) -> PytestConfig:
    """The file pytest would take as its configuration (pytest.ini, pyproject, tox.ini, setup.cfg)."""
    repo = ctx.repo
    candidates = [
        ("pytest.ini", "pytest"),
        (".pytest.ini", "pytest"),
        ("pyproject.toml", None),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ]
    for name, section in candidates:
        rel = ctx.path(name)
        if not repo.exists(rel):
            continue
        if section is None:
            data = repo.toml(rel) or {}
            pytest_table = data.get("tool", {}).get("pytest", {})
            table = (
                pytest_table.get("ini_options") if isinstance(pytest_table.get("ini_options"), dict) else None
            )
            key_table = "tool.pytest.ini_options"
            if table is None and pytest_table:
                table = {k: v for k, v in pytest_table.items() if not isinstance(v, dict)}
                key_table = "tool.pytest"
            if table is None:
                continue
            values: dict[str, str | list[str]] = {}
            for key, value in table.items():
                values[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
            lines = {k: repo.toml_source(rel, key_table, k).line or 0 for k in values}
            return PytestConfig(repo.toml_source(rel, key_table), values, lines)
        parser = repo.ini(rel)
        if parser is None or not parser.has_section(section):
            if name == "pytest.ini":
                # pytest.ini wins even when empty.
                return PytestConfig(Source(rel), {}, {})
            continue
        values = {k: v for k, v in parser.items(section)}
        lines = {k: repo.line_of(rel, r"^\s*" + re.escape(k) + r"\s*[=:]") or 0 for k in values}
        return PytestConfig(repo.source(rel, r"^\s*\[" + re.escape(section) + r"\]"), values, lines)
    return PytestConfig(None, {}, {})


def as_list(value: str | list[str] | None, *, split_args: bool = False) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out += shlex.split(item) if split_args else [item]
        return out
    if split_args:
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return (
        [line.strip() for line in re.split(r"[\n]+", value) if line.strip()]
        if "\n" in value
        else value.split()
    )


def markers(ctx: Context, cfg: PytestConfig) -> list[Finding[str]]:
    raw = cfg.values.get("markers")
    items = raw if isinstance(raw, list) else [line for line in (raw or "").splitlines() if line.strip()]
    out = []
    for item in items:
        name = re.split(r"[:(\s]", item.strip(), maxsplit=1)[0]
        if not name:
            continue
        src = cfg.source
        if src is not None:
            line = ctx.repo.line_of(src.path, r"(^|[\s\"'])" + re.escape(name) + r"\s*[:(\"']")
            src = Source(src.path, line or src.line)
        out.append(detected(name, src, "a declared marker"))
    return out
