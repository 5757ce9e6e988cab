"""The project's coverage configuration, read where coverage.py reads it, and how the CI runs it.

coverage.py takes the first of .coveragerc, setup.cfg ([coverage:*]), tox.ini
([coverage:*]) and pyproject.toml ([tool.coverage.*]) that has its settings.
``dynamic_context`` matters to Slipway: pytest-cov refuses it under xdist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected
from pipeline.detect.tests_layout import TestsLayout


@dataclass(frozen=True, slots=True)
class Coverage:
    config: Source | None  # the file coverage.py reads its settings from
    source: Finding[tuple[str, ...]] | None
    branch: Finding[bool] | None
    dynamic_context: Finding[str] | None
    fail_under: Finding[float] | None
    runner: Finding[str] | None  # "coverage run" or "pytest-cov", as the CI (or addopts) does it
    questions: tuple[Question, ...]


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in re.split(r"[,\n]", value) if v.strip())


def _bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _ini_settings(ctx: Context, rel: str, prefix: str) -> dict[str, tuple[str, int | None]] | None:
    parser = ctx.repo.ini(rel)
    if parser is None:
        return None
    out: dict[str, tuple[str, int | None]] = {}
    for part in ("run", "report"):
        section = f"{prefix}{part}"
        if not parser.has_section(section):
            continue
        header = ctx.repo.line_of(rel, r"^\s*\[" + re.escape(section) + r"\]") or 1
        for key, value in parser.items(section):
            line = ctx.repo.line_of(rel, r"^\s*" + re.escape(key) + r"\s*[=:]", header)
            out[f"{part}.{key}"] = (value, line)
    return out or None


def detect_coverage(ctx: Context, tests: TestsLayout) -> Coverage:
    repo = ctx.repo
    questions: list[Question] = []
    settings: dict[str, tuple[Any, int | None]] | None = None
    config: Source | None = None
    for name, prefix in ((".coveragerc", ""), ("setup.cfg", "coverage:"), ("tox.ini", "coverage:")):
        rel = ctx.path(name)
        if repo.exists(rel):
            found = _ini_settings(ctx, rel, prefix)
            if found is not None:
                settings, config = dict(found), Source(rel)
                break
    if settings is None:
        rel = ctx.path("pyproject.toml")
        table = (repo.toml(rel) or {}).get("tool", {}).get("coverage", {})
        if table:
            settings = {}
            for part in ("run", "report"):
                for key, value in table.get(part, {}).items():
                    settings[f"{part}.{key}"] = (
                        value,
                        repo.toml_source(rel, f"tool.coverage.{part}", key).line,
                    )
            config = repo.toml_source(rel, "tool.coverage.run" if "run" in table else "tool.coverage")

    def finding(key: str, convert: Any, why: str) -> Finding[Any] | None:
        if settings is None or key not in settings or config is None:
            return None
        value, line = settings[key]
        return detected(convert(value), Source(config.path, line), why)

    source = finding(
        "run.source",
        lambda v: tuple(map(str, v)) if isinstance(v, list) else _split(str(v)),
        "coverage's source",
    )
    branch = finding("run.branch", _bool, "branch coverage")
    dynamic = finding("run.dynamic_context", str, "dynamic_context")
    fail_under = finding("report.fail_under", float, "fail_under")

    runner: Finding[str] | None = None
    for command in ctx.ci.commands():
        for argv in command.argvs():
            if argv[:2] == ("coverage", "run") or argv[:4] in (
                ("python", "-m", "coverage", "run"),
                ("python3", "-m", "coverage", "run"),
            ):
                runner = detected("coverage run", command.source, f"the CI runs {command.text}")
                break
        if runner:
            break
    if runner is None:
        for run in tests.runs:
            if run.cov:
                runner = detected("pytest-cov", run.source, "the CI runs pytest --cov")
                break
    if (
        runner is None
        and tests.addopts is not None
        and any(a.startswith("--cov") for a in tests.addopts.value)
    ):
        runner = detected("pytest-cov", tests.addopts.source, "addopts has --cov")
    if dynamic is not None and runner is not None and runner.value == "pytest-cov":
        questions.append(
            Question(
                "coverage",
                f"dynamic_context = {dynamic.value} with pytest-cov: pytest-cov refuses it under xdist",
                tuple(s for s in (dynamic.source, runner.source) if s),
            )
        )
    return Coverage(config, source, branch, dynamic, fail_under, runner, tuple(questions))
