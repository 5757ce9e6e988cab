"""Read pipeline.yaml into frozen, typed objects; every error names file:line:column and key.

Order: safe YAML with marks -> ``${VAR}`` interpolation -> literal-secret check
-> pydantic model -> graph checks (duplicate names, unknown needs, cycles).
"""

from __future__ import annotations

import difflib
import graphlib
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.config.model import STAGE_MODELS, PipelineConfig, StageBase
from pipeline.config.state import state_dir
from pipeline.config.yamlload import KeyPath, Loaded, format_key_path, load_yaml
from pipeline.model.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Values that are credentials whatever key they sit under: they must come in as secrets.
_CREDENTIAL_SHAPES = (
    re.compile(r"^AKIA[0-9A-Z]{16}$"),  # AWS access key id
    re.compile(r"^gh[pousr]_[A-Za-z0-9]{30,}$"),  # GitHub tokens
    re.compile(r"^glpat-[A-Za-z0-9_-]{20,}$"),  # GitLab tokens
    re.compile(r"^xox[abpr]-[A-Za-z0-9-]{10,}$"),  # Slack tokens
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


@dataclass(frozen=True, slots=True)
class Config:
    """A validated pipeline.yaml and where it lives."""

    model: PipelineConfig
    path: Path
    variables: Mapping[str, str]
    loaded: Loaded

    @property
    def base_dir(self) -> Path:
        return self.path.parent.resolve()

    @property
    def project_root(self) -> Path:
        return (self.base_dir / self.model.project.root).resolve()

    @property
    def state_dir(self) -> Path:
        """What Slipway remembers about this project between runs (``config/state.py``)."""
        return state_dir(self.base_dir)

    def ca_bundle(self) -> Path | None:
        """The configured CA bundle, relative to pipeline.yaml; a missing file is a config error."""
        if self.model.ca_bundle is None:
            return None
        path = (self.base_dir / self.model.ca_bundle).resolve()
        if not path.is_file():
            raise ConfigError(
                f"{self.loaded.where_value(('ca_bundle',))}: ca_bundle: {path} does not exist; "
                "point it at your CA bundle (Debian: /etc/ssl/certs/ca-certificates.crt) or remove it"
            )
        return path

    def stage(self, name: str) -> StageBase:
        for stage in self.model.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def where_stage(self, name: str) -> str:
        for i, stage in enumerate(self.model.stages):
            if stage.name == name:
                return self.loaded.where(("stages", i))
        return str(self.path)


def git_facts(cwd: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """GIT_SHA and BRANCH: from the environment (CI sets them), else from git."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    sha = environ.get("GIT_SHA") or environ.get("GITHUB_SHA") or environ.get("CI_COMMIT_SHA")
    branch = (
        environ.get("BRANCH") or environ.get("GITHUB_REF_NAME") or environ.get("CI_COMMIT_BRANCH")
    )
    return {
        "GIT_SHA": sha or git("rev-parse", "HEAD") or "0" * 40,
        "BRANCH": branch or git("rev-parse", "--abbrev-ref", "HEAD") or "unknown",
    }


def _interpolate(
    value: Any, path: KeyPath, loaded: Loaded, variables: Mapping[str, str], secrets: set[str]
) -> Any:
    if isinstance(value, dict):
        return {
            k: _interpolate(v, (*path, k), loaded, variables, secrets) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), loaded, variables, secrets) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in secrets:
            raise ConfigError(
                f"{loaded.where(path)}: {format_key_path(path)}: ${{{name}}} is a secret; "
                "secrets are never interpolated into config: list it under the stage's "
                "`secrets:` and the container gets it as an environment variable"
            )
        if name in variables:
            return variables[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{loaded.where(path)}: {format_key_path(path)}: variable ${{{name}}} is not set: "
            f"define it under `variables:`, export it, or write ${{{name}:-default}}"
        )

    return _VAR.sub(replace, value)


def _check_literal_secrets(data: Any, path: KeyPath, loaded: Loaded, secrets: set[str]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in secrets and path and path[-1] == "env" and isinstance(value, str):
                raise ConfigError(
                    f"{loaded.where((*path, key))}: {format_key_path((*path, key))}: {key} is "
                    "declared a secret but given a literal value here; remove the value and "
                    "list the name under the stage's `secrets:`"
                )
            _check_literal_secrets(value, (*path, key), loaded, secrets)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _check_literal_secrets(item, (*path, i), loaded, secrets)
    elif isinstance(data, str) and any(p.search(data) for p in _CREDENTIAL_SHAPES):
        raise ConfigError(
            f"{loaded.where_value(path)}: {format_key_path(path)}: this value looks like a credential; "
            "never put secret values in pipeline.yaml: declare its name under `secrets:` and "
            "set it in the environment"
        )


def _model_for(data: Any, loc: KeyPath) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``loc`` (for "did you mean")."""
    model: type[BaseModel] | None = PipelineConfig
    node = data
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and node.get("kind") in STAGE_MODELS:
                    model = STAGE_MODELS[node["kind"]]
            continue
        field = model.model_fields.get(part)
        node = node.get(part) if isinstance(node, dict) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> KeyPath:
    """Drop the discriminator tags pydantic inserts (``stages.0.pytest.paths``)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node and (
            node.get("kind") == part or part in STAGE_MODELS
        ):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _describe(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _validation_message(exc: ValidationError, data: Any, loaded: Loaded) -> str:
    lines: list[str] = []
    errors = exc.errors()
    locs = [_clean_loc(e["loc"], data) for e in errors]
    for err, loc in zip(errors, locs, strict=True):
        # A list whose bad item was dropped is then "too short": that says nothing new.
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue
        kind = err["type"]
        key = format_key_path(loc)
        where = loaded.where(loc)
        if kind == "extra_forbidden":
            parent = _model_for(data, loc[:-1])
            choices = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(choices)}"
            lines.append(f"{where}: {key}: unknown key {loc[-1]!r}{hint}")
        elif kind == "missing":
            lines.append(f"{where}: {key}: required key {loc[-1]!r} is missing")
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            kinds = ", ".join(STAGE_MODELS)
            lines.append(f"{where}: {key}.kind: unknown or missing stage kind; use one of {kinds}")
        else:
            got = err.get("input")
            lines.append(f"{loaded.where_value(loc)}: {key}: {err['msg']} (got {_describe(got)}: {got!r})")
    return "\n".join(lines)


def _check_graph(model: PipelineConfig, loaded: Loaded) -> None:
    seen: dict[str, int] = {}
    for i, stage in enumerate(model.stages):
        if stage.name in seen:
            raise ConfigError(
                f"{loaded.where_value(('stages', i, 'name'))}: stages[{i}].name: duplicate stage name "
                f"{stage.name!r} (first at {loaded.where_value(('stages', seen[stage.name], 'name'))}); "
                "stage names must be unique"
            )
        seen[stage.name] = i
    for i, stage in enumerate(model.stages):
        for j, need in enumerate(stage.needs):
            if need not in seen:
                close = difflib.get_close_matches(need, list(seen), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"{loaded.where_value(('stages', i, 'needs', j))}: stages[{i}].needs[{j}]: "
                    f"unknown stage {need!r}{hint}"
                )
            if need == stage.name:
                raise ConfigError(
                    f"{loaded.where(('stages', i, 'needs', j))}: stages[{i}].needs[{j}]: "
                    f"stage {need!r} needs itself"
                )
        for j, svc in enumerate(getattr(stage, "services", ())):
            if svc not in model.services:
                raise ConfigError(
                    f"{loaded.where(('stages', i, 'services', j))}: stages[{i}].services[{j}]: "
                    f"unknown service {svc!r}; define it under `services:`"
                )
        for j, secret in enumerate(stage.secrets):
            if secret not in model.secrets:
                raise ConfigError(
                    f"{loaded.where(('stages', i, 'secrets', j))}: stages[{i}].secrets[{j}]: "
                    f"secret {secret!r} is not declared; add it to the top-level `secrets:`"
                )
    cycle = find_cycle({s.name: s.needs for s in model.stages})
    if cycle:
        first = seen[cycle[0]]
        raise ConfigError(
            f"{loaded.where(('stages', first, 'needs'))}: stages[{first}].needs: "
            f"cycle: {' -> '.join(cycle)}; remove one of these needs"
        )


def find_cycle(needs: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a] (each needs the next) if the graph has one, else None.

    graphlib finds it; the cycle is turned to follow the needs and to start at the
    node that comes first in ``needs`` (config order), so the message is stable.
    """
    try:
        graphlib.TopologicalSorter(needs).prepare()
    except graphlib.CycleError as exc:
        # graphlib lists predecessors first: [x, y, ..., x] where y needs x.
        ring = list(reversed(exc.args[1]))[:-1]
        order = {name: i for i, name in enumerate(needs)}
        start = min(range(len(ring)), key=lambda i: order.get(ring[i], len(order)))
        ring = ring[start:] + ring[:start]
        return [*ring, ring[0]]
    return None


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path``; raises ConfigError naming file:line:column and key."""
    env = dict(os.environ if environ is None else environ)
    loaded = load_yaml(path)
    raw = loaded.data
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1:1: the top level must be a mapping of sections")
    secrets = {s for s in raw.get("secrets", []) or [] if isinstance(s, str)}
    raw_vars = raw.get("variables") or {}
    if not isinstance(raw_vars, dict):
        raise ConfigError(f"{loaded.where(('variables',))}: variables: must be a mapping")
    variables: dict[str, str] = {**git_facts(path.parent, env)}
    # Environment values first, then the file's own (which may themselves use ${ENV}).
    lookup = {**env, **variables}
    for key, value in raw_vars.items():
        interpolated = _interpolate(value, ("variables", key), loaded, lookup, secrets)
        variables[key] = env.get(key, str(interpolated))
        lookup[key] = variables[key]
    _check_literal_secrets(raw, (), loaded, secrets)
    data = {
        k: (
            {name: variables[name] for name in raw_vars}
            if k == "variables"
            else _interpolate(v, (k,), loaded, lookup, secrets)
        )
        for k, v in raw.items()
    }
    try:
        model = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, data, loaded)) from None
    _check_graph(model, loaded)
    return Config(model=model, path=path, variables=variables, loaded=loaded)
