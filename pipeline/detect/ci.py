"""The project's own CI files: GitHub Actions, GitLab CI and Woodpecker, read as jobs.

Each job gives the shell commands it runs (one per line, with where it is
written), the environment it sets, the container images and Python versions it
asks for, and its service containers. The other detectors read these rather
than the files.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.detect.findings import Source
from pipeline.detect.repo import Repo
from pipeline.detect.yamlmarks import Key, YamlDoc

System = Literal["github", "gitlab", "woodpecker"]

_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")"})


@dataclass(frozen=True, slots=True)
class Command:
    """One shell line a job runs, in the folder it runs in (relative to the repository)."""

    text: str
    source: Source
    job: str
    cwd: str = "."
    env: Mapping[str, str] = field(default_factory=dict)

    def argvs(self) -> list[tuple[str, ...]]:
        """The simple commands on the line (split at ``&&``, ``;``, ``|``), each as argv."""
        lexer = shlex.shlex(self.text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            return [tuple(self.text.split())]
        out: list[tuple[str, ...]] = []
        current: list[str] = []
        for token in tokens:
            if token in _OPERATORS:
                if current:
                    out.append(tuple(current))
                current = []
            else:
                current.append(token)
        if current:
            out.append(tuple(current))
        # Leading VAR=value assignments are environment, not the program.
        return [tuple(_drop_assignments(argv)) for argv in out if _drop_assignments(argv)]


def _drop_assignments(argv: tuple[str, ...]) -> list[str]:
    rest = list(argv)
    while rest and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        rest.pop(0)
    if rest[:1] == ["env"]:
        return _drop_assignments(tuple(rest[1:]))
    return rest


@dataclass(frozen=True, slots=True)
class CiService:
    """A service container a job declares (GitHub ``services:``, GitLab, Woodpecker)."""

    name: str
    image: str
    env: Mapping[str, str]
    ports: tuple[str, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class CiJob:
    system: System
    name: str
    source: Source
    commands: tuple[Command, ...]
    env: Mapping[str, str]
    images: tuple[tuple[str, Source], ...]
    python_versions: tuple[tuple[str, Source], ...]
    services: tuple[CiService, ...]


@dataclass(frozen=True, slots=True)
class Ci:
    files: tuple[str, ...]
    jobs: tuple[CiJob, ...]

    def commands(self) -> list[Command]:
        return [c for job in self.jobs for c in job.commands]


def read_ci(repo: Repo) -> Ci:
    files: list[str] = []
    jobs: list[CiJob] = []
    for rel in repo.glob(".github/workflows/*.yml", ".github/workflows/*.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(_github(rel, doc))
    for rel in repo.glob(".gitlab-ci.yml", ".gitlab-ci.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(_gitlab(rel, doc))
    for rel in repo.glob(".woodpecker.yml", ".woodpecker.yaml", ".woodpecker/*.yml", ".woodpecker/*.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(_woodpecker(rel, doc))
    return Ci(tuple(files), tuple(jobs))


# --- shared helpers ---


def _env(value: Any) -> dict[str, str]:
    """An environment block: a mapping, or a list of ``KEY=value`` strings."""
    if isinstance(value, dict):
        return {str(k): _scalar(v) for k, v in value.items() if not isinstance(v, (dict, list))}
    if isinstance(value, list):
        out = {}
        for item in value:
            if isinstance(item, str) and "=" in item:
                k, _, v = item.partition("=")
                out[k.strip()] = v.strip()
        return out
    return {}


def _scalar(value: Any) -> str:
    return "" if value is None else str(value)


def _script_commands(
    doc: YamlDoc, rel: str, path: tuple[Key, ...], value: Any, job: str, cwd: str, env: Mapping[str, str]
) -> list[Command]:
    """Commands of a ``run:`` block / ``script:`` list, one per logical line."""
    out: list[Command] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_script_commands(doc, rel, (*path, index), item, job, cwd, env))
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


_PY_IMAGE = re.compile(r"(?:^|/)python:(?P<v>\d+\.\d+)|(?:^|/)uv:python(?P<u>\d+\.\d+)")


def python_of_image(image: str) -> str | None:
    """``3.11`` for ``python:3.11-slim`` (or ``ghcr.io/astral-sh/uv:python3.12-bookworm``)."""
    m = _PY_IMAGE.search(image)
    if m is None:
        return None
    return m.group("v") or m.group("u")


def _cwd(base: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "${" in value:
        return base
    rel = value.strip().removeprefix("./")
    if rel.startswith("/"):
        return base
    joined = f"{base}/{rel}" if base != "." else rel
    return joined.rstrip("/") or "."


# --- GitHub Actions ---

_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")


def _github(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        return []
    top_env = _env(data.get("env"))
    top_cwd = _cwd(".", _dig(data, "defaults", "run", "working-directory"))
    out = []
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        job_env = {**top_env, **_env(job.get("env"))}
        # Each level replaces the one above; all are relative to the checkout.
        job_dir = _dig(job, "defaults", "run", "working-directory")
        cwd = _cwd(".", job_dir) if job_dir else top_cwd
        matrix = _dig(job, "strategy", "matrix")
        commands: list[Command] = []
        pythons: list[tuple[str, Source]] = []
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                continue
            step_env = {**job_env, **_env(step.get("env"))}
            if "run" in step:
                step_cwd = _cwd(".", step.get("working-directory")) if "working-directory" in step else cwd
                commands.extend(
                    _script_commands(
                        doc, rel, ("jobs", name, "steps", index, "run"), step["run"], name, step_cwd, step_env
                    )
                )
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/setup-python", "astral-sh/setup-uv")):
                version = _dig(step, "with", "python-version")
                where = Source(rel, doc.line("jobs", name, "steps", index, "with", "python-version"))
                pythons.extend((v, where) for v in _matrix_values(version, matrix))
        images: list[tuple[str, Source]] = []
        container = job.get("container")
        image = container.get("image") if isinstance(container, dict) else container
        if isinstance(image, str) and image:
            images.append((image, Source(rel, doc.line("jobs", name, "container"))))
        services = []
        block = job.get("services")
        if isinstance(block, dict):
            for sname, spec in block.items():
                if isinstance(spec, dict) and isinstance(spec.get("image"), str):
                    ports = spec.get("ports")
                    services.append(
                        CiService(
                            str(sname),
                            spec["image"],
                            _env(spec.get("env")),
                            tuple(_scalar(p) for p in ports) if isinstance(ports, list) else (),
                            Source(rel, doc.line("jobs", name, "services", sname)),
                        )
                    )
        out.append(
            CiJob(
                "github",
                str(name),
                Source(rel, doc.line("jobs", name)),
                tuple(commands),
                job_env,
                tuple(images),
                tuple(pythons),
                tuple(services),
            )
        )
    return out


def _matrix_values(value: Any, matrix: Any) -> list[str]:
    if isinstance(value, list):
        return [_scalar(v) for v in value if _scalar(v)]
    if not isinstance(value, str) or not value:
        return []
    m = _MATRIX_REF.match(value.strip())
    if m is None:
        return [value]
    if isinstance(matrix, dict):
        values = matrix.get(m.group(1))
        if isinstance(values, list):
            return [_scalar(v) for v in values if _scalar(v)]
    return []


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# --- GitLab CI ---

_GITLAB_RESERVED = frozenset(
    {
        "image",
        "services",
        "stages",
        "types",
        "before_script",
        "after_script",
        "variables",
        "cache",
        "include",
        "default",
        "workflow",
        "pages",
    }
)


def _gitlab(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    default = data.get("default") if isinstance(data.get("default"), dict) else {}
    top_vars = _env(data.get("variables"))
    top_image = data.get("image", default.get("image"))
    top_services = data.get("services", default.get("services"))
    top_before = data.get("before_script", default.get("before_script"))
    out = []
    for name, job in data.items():
        if name in _GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        if "script" not in job and "trigger" not in job:
            continue
        env = {**top_vars, **_env(job.get("variables"))}
        commands: list[Command] = []
        before_path: tuple[Key, ...] = (
            (name, "before_script") if "before_script" in job else ("before_script",)
        )
        before = job.get("before_script", top_before)
        commands.extend(_script_commands(doc, rel, before_path, before, name, ".", env))
        commands.extend(_script_commands(doc, rel, (name, "script"), job.get("script"), name, ".", env))
        image = job.get("image", top_image)
        image_name = image.get("name") if isinstance(image, dict) else image
        images = []
        if isinstance(image_name, str) and image_name:
            images.append((image_name, Source(rel, doc.line(name, "image") or doc.line("image"))))
        services = []
        raw_services = job.get("services", top_services)
        svc_path: tuple[Key, ...] = (name, "services") if "services" in job else ("services",)
        for index, item in enumerate(raw_services if isinstance(raw_services, list) else []):
            spec = {"name": item} if isinstance(item, str) else item if isinstance(item, dict) else {}
            img = spec.get("name")
            if not isinstance(img, str) or not img:
                continue
            alias = spec.get("alias")
            # GitLab names the service's host after its image (postgres:15 -> postgres).
            host = str(alias).split(",")[0].strip() if alias else img.split(":")[0].split("/")[-1]
            services.append(
                CiService(
                    host,
                    img,
                    {**env, **_env(spec.get("variables"))},
                    (),
                    Source(rel, doc.line(*svc_path, index)),
                )
            )
        out.append(
            CiJob(
                "gitlab",
                name,
                Source(rel, doc.line(name)),
                tuple(commands),
                env,
                tuple(images),
                (),
                tuple(services),
            )
        )
    return out


# --- Woodpecker ---


def _woodpecker(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    steps = data.get("steps", data.get("pipeline"))
    key = "steps" if "steps" in data else "pipeline"
    items: list[tuple[str, tuple[Key, ...], dict[str, Any]]] = []
    if isinstance(steps, dict):
        items = [(str(n), (key, n), s) for n, s in steps.items() if isinstance(s, dict)]
    elif isinstance(steps, list):
        items = [
            (str(s.get("name", f"step-{i}")), (key, i), s) for i, s in enumerate(steps) if isinstance(s, dict)
        ]
    services: list[CiService] = []
    raw_services = data.get("services")
    service_items: list[tuple[str, tuple[Key, ...], dict[str, Any]]] = []
    if isinstance(raw_services, dict):
        service_items = [(str(n), ("services", n), s) for n, s in raw_services.items() if isinstance(s, dict)]
    elif isinstance(raw_services, list):
        service_items = [
            (str(s.get("name", f"service-{i}")), ("services", i), s)
            for i, s in enumerate(raw_services)
            if isinstance(s, dict)
        ]
    for sname, path, spec in service_items:
        image = spec.get("image")
        if isinstance(image, str) and image:
            ports = spec.get("ports")
            services.append(
                CiService(
                    sname,
                    image,
                    _env(spec.get("environment")),
                    tuple(_scalar(p) for p in ports) if isinstance(ports, list) else (),
                    Source(rel, doc.line(*path)),
                )
            )
    out = []
    for sname, path, step in items:
        env = _env(step.get("environment"))
        cwd = _cwd(".", step.get("directory"))
        commands = _script_commands(doc, rel, (*path, "commands"), step.get("commands"), sname, cwd, env)
        image = step.get("image")
        images = [(image, Source(rel, doc.line(*path, "image")))] if isinstance(image, str) and image else []
        out.append(
            CiJob(
                "woodpecker",
                sname,
                Source(rel, doc.line(*path)),
                tuple(commands),
                env,
                tuple(images),
                (),
                tuple(services),
            )
        )
    return out
