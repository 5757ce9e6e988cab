"""What every CI system's reader shares: environment blocks, script lines with their
line numbers, working directories, and nested lookups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.detect.ci_model import Command
from pipeline.detect.findings import Source
from pipeline.detect.yamlmarks import Key, YamlDoc


def env_block(value: Any) -> dict[str, str]:
    """An environment block: a mapping, or a list of ``KEY=value`` strings."""
    if isinstance(value, dict):
        return {str(k): scalar(v) for k, v in value.items() if not isinstance(v, (dict, list))}
    if isinstance(value, list):
        out = {}
        for item in value:
            if isinstance(item, str) and "=" in item:
                k, _, v = item.partition("=")
                out[k.strip()] = v.strip()
        return out
    return {}


def scalar(value: Any) -> str:
    return "" if value is None else str(value)


def script_commands(
    doc: YamlDoc, rel: str, path: tuple[Key, ...], value: Any, job: str, cwd: str, env: Mapping[str, str]
) -> list[Command]:
    """Commands of a ``run:`` block / ``script:`` list, one per logical line."""
    out: list[Command] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(script_commands(doc, rel, (*path, index), item, job, cwd, env))
        return out
    if not isinstance(value, str):
        return out
    mark = doc.mark(*path)
    if mark is None:
        first = doc.line(*path) or 1
        block = False
    else:
        block = mark.block
        first = mark.value_line + 1 if block else mark.value_line
    pending = ""
    pending_line = first
    for offset, raw in enumerate(value.splitlines()):
        line = raw.strip()
        if not pending:
            pending_line = first + offset
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text and not text.startswith("#"):
            out.append(Command(text, Source(rel, pending_line), job, cwd, dict(env)))
    if pending.strip():
        out.append(Command(pending.strip(), Source(rel, pending_line), job, cwd, dict(env)))
    return out


def workdir(base: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "${" in value:
        return base
    rel = value.strip().removeprefix("./")
    if rel.startswith("/"):
        return base
    joined = f"{base}/{rel}" if base != "." else rel
    return joined.rstrip("/") or "."


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
