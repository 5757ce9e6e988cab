"""Read docker-bake.hcl into build targets: variables, groups, targets, inherits.

``docker buildx bake`` is not available on every runner (not on ours), so the
subset of its file format that describes *what* to build is read here and each
target is built through the engine. What this reader does not understand
(functions, matrix, expressions beyond ``${VAR}``) is an error naming the file
and the target, never a silently different build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from pipeline.model.errors import ConfigError

# Keys of a target block this reader honours (cache-* are parsed, then reported).
TARGET_KEYS = frozenset(
    {"inherits", "context", "dockerfile", "target", "args", "tags", "labels", "cache-from", "cache-to"}
)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_EXPR = re.compile(r"\$\{")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class BakeTarget:
    """One resolved target: paths are absolute, strings interpolated."""

    name: str
    context: Path
    dockerfile: str  # relative to context, as docker build's -f
    target: str | None
    args: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BakeFile:
    path: Path
    variables: Mapping[str, str]
    groups: Mapping[str, tuple[str, ...]]
    raw_targets: Mapping[str, Mapping[str, Any]]

    def target(self, name: str) -> BakeTarget:
        """The target ``name`` with its ``inherits`` applied (later parents win, then itself)."""
        if name not in self.raw_targets:
            known = ", ".join(sorted(self.raw_targets)) or "none"
            raise ConfigError(f"{self.path}: no target {name!r} (targets: {known})")
        merged = self._merged(name, ())
        where = f"{self.path}: target {name!r}"
        unknown = sorted(set(merged) - TARGET_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: {', '.join(unknown)} not supported by Slipway's bake reader "
                f"(supported: {', '.join(sorted(TARGET_KEYS))})"
            )
        context = self.path.parent / self._str(merged.get("context", '"."'), where, "context")
        args = merged.get("args") or {}
        labels = merged.get("labels") or {}
        if not isinstance(args, dict) or not isinstance(labels, dict):
            raise ConfigError(f"{where}: args and labels must be maps")
        return BakeTarget(
            name=name,
            context=context.resolve(),
            dockerfile=self._str(merged.get("dockerfile", '"Dockerfile"'), where, "dockerfile"),
            target=self._str(merged["target"], where, "target") if "target" in merged else None,
            args=tuple(sorted((k, self._str(v, where, f"args.{k}")) for k, v in args.items())),
            tags=self._list(merged.get("tags"), where, "tags"),
            labels=tuple(
                sorted((_unquote(k), self._str(v, where, f"labels.{k}")) for k, v in labels.items())
            ),
            cache_from=self._list(merged.get("cache-from"), where, "cache-from"),
            cache_to=self._list(merged.get("cache-to"), where, "cache-to"),
        )

    def resolve(self, names: tuple[str, ...]) -> list[BakeTarget]:
        """Targets for names that may be groups (expanded, in order, without repeats)."""
        out: list[str] = []

        def add(name: str, seen: tuple[str, ...]) -> None:
            if name in seen:
                raise ConfigError(f"{self.path}: group {name!r} includes itself")
            if name in self.groups and name not in self.raw_targets:
                for member in self.groups[name]:
                    add(member, (*seen, name))
            elif name not in out:
                out.append(name)

        for name in names:
            add(name, ())
        return [self.target(n) for n in out]

    def _merged(self, name: str, seen: tuple[str, ...]) -> dict[str, Any]:
        if name in seen:
            raise ConfigError(f"{self.path}: target {name!r} inherits from itself ({' -> '.join(seen)})")
        if name not in self.raw_targets:
            raise ConfigError(f"{self.path}: target {seen[-1]!r} inherits unknown target {name!r}")
        own = dict(self.raw_targets[name])
        merged: dict[str, Any] = {}
        for parent in self._list(own.pop("inherits", None), f"{self.path}: target {name!r}", "inherits"):
            merged.update(self._merged(parent, (*seen, name)))
        for key in ("args", "labels"):  # bake merges these maps key by key
            if key in merged and key in own:
                own[key] = {**merged[key], **own[key]}
        merged.update(own)
        return merged

    def _str(self, value: Any, where: str, key: str) -> str:
        return interpolate(value, self.variables, f"{where}: {key}")

    def _list(self, value: Any, where: str, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {key} must be a list")
        return tuple(self._str(v, where, key) for v in value)


def interpolate(value: Any, variables: Mapping[str, str], where: str) -> str:
    """A python-hcl2 value as a string: quoted literals get ``${VAR}`` replaced,
    a bare identifier is a variable reference; anything else is refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        text = value[1:-1]

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise ConfigError(f"{where}: unknown variable ${{{name}}}; declare it with variable {name!r}")
            return variables[name]

        replaced = _REF.sub(repl, text)
        if _ANY_EXPR.search(_REF.sub("", text)):
            raise ConfigError(
                f"{where}: {text!r} uses an expression Slipway's bake reader does not evaluate "
                "(only ${VAR} references are supported; no functions or operators)"
            )
        return replaced
    if _IDENT.match(value) and value in variables:
        return variables[value]
    raise ConfigError(
        f"{where}: {value!r} is an expression Slipway's bake reader does not evaluate "
        "(only string literals with ${VAR} references and plain variable names)"
    )


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _blocks(data: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in data.get(kind, []) or []:
        for label, body in block.items():
            out[_unquote(label)] = {k: v for k, v in body.items() if k != "__is_block__"}
    return out


def load_bake(path: Path, overrides: Mapping[str, str]) -> BakeFile:
    """Read ``path``; a variable's value is ``overrides[name]`` if given, else its default."""
    try:
        with path.open(encoding="utf-8") as fh:
            data = hcl2.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: bake file not found (set images.bake in pipeline.yaml)") from exc
    except Exception as exc:  # python-hcl2 raises lark errors of many types
        raise ConfigError(f"{path}: not valid HCL: {exc}") from exc
    for kind in ("function",):
        if data.get(kind):
            names = ", ".join(_blocks(data, kind))
            raise ConfigError(f"{path}: {kind} blocks ({names}) are not supported by Slipway's bake reader")
    targets = _blocks(data, "target")
    for name, body in targets.items():
        if "matrix" in body or "name" in body:
            raise ConfigError(
                f"{path}: target {name!r}: matrix targets are not supported by Slipway's bake reader"
            )
    variables: dict[str, str] = {}
    for name, body in _blocks(data, "variable").items():
        if name in overrides:
            variables[name] = overrides[name]
        else:
            # Defaults may refer to variables declared before them.
            variables[name] = interpolate(body.get("default", '""'), variables, f"{path}: variable {name!r}")
    groups: dict[str, tuple[str, ...]] = {}
    for name, body in _blocks(data, "group").items():
        members = body.get("targets") or []
        groups[name] = tuple(interpolate(m, variables, f"{path}: group {name!r}") for m in members)
    return BakeFile(path=path, variables=variables, groups=groups, raw_targets=targets)
