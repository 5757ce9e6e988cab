"""Image builds: Dockerfiles (their base images and stages) and docker-bake.hcl targets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import hcl2

from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected
from pipeline.detect.repo import Repo, parent

_DOCKERFILE_NAMES = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile")
_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<stage>\S+))?", re.IGNORECASE)
_ARG = re.compile(r"^ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<value>\S*))?", re.IGNORECASE)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}?")


@dataclass(frozen=True, slots=True)
class Dockerfile:
    path: str
    bases: tuple[tuple[str, int], ...]  # (image, line) per FROM that is not an earlier stage
    stages: tuple[str, ...]  # named stages (FROM ... AS name)
    test: bool  # a test image (Dockerfile.test, test.Dockerfile ...) rather than the app's


@dataclass(frozen=True, slots=True)
class BakeTarget:
    name: str
    context: str
    dockerfile: str
    target: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Images:
    dockerfiles: tuple[Finding[Dockerfile], ...]
    test_dockerfile: Finding[str] | None
    bake_file: Finding[str] | None
    bake_targets: tuple[Finding[BakeTarget], ...]
    bake_default: tuple[str, ...]
    questions: tuple[Question, ...]


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    """Base images with ``ARG`` defaults substituted; continuation lines joined."""
    args: dict[str, str] = {}
    bases: list[tuple[str, int]] = []
    stages: list[str] = []
    logical: list[tuple[str, int]] = []
    buf, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf:
            start = number
            if not line or line.startswith("#"):
                continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append((buf + line, start))
        buf = ""
    for line, number in logical:
        if m := _ARG.match(line):
            args.setdefault(m.group("name"), m.group("value") or "")
        elif m := _FROM.match(line):
            image = _VAR.sub(lambda v: args.get(v.group(1)) or v.group(2) or v.group(0), m.group("image"))
            if image.lower() not in {s.lower() for s in stages} and image != "scratch":
                bases.append((image, number))
            if m.group("stage"):
                stages.append(m.group("stage"))
    name = path.rsplit("/", 1)[-1].lower()
    return Dockerfile(path, tuple(bases), tuple(stages), "test" in name)


def dockerfiles(repo: Repo) -> list[Dockerfile]:
    out = []
    for rel in repo.named(*_DOCKERFILE_NAMES, max_depth=4):
        if rel.endswith(".dockerignore"):
            continue
        text = repo.text(rel)
        if text is not None:
            out.append(parse_dockerfile(rel, text))
    return out


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def _blocks(data: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in data.get(kind, []) or []:
        for label, body in block.items():
            out[_unquote(label)] = {k: _unquote(v) for k, v in body.items() if k != "__is_block__"}
    return out


def detect_images(ctx: Context) -> Images:
    repo = ctx.repo
    questions: list[Question] = []
    found = [
        detected(d, Source(d.path, d.bases[0][1] if d.bases else None), "Dockerfile")
        for d in dockerfiles(repo)
    ]
    tests = [f for f in found if f.value.test]
    test_dockerfile = (
        detected(tests[0].value.path, Source(tests[0].value.path), "a test image's Dockerfile")
        if tests
        else None
    )
    bake_file: Finding[str] | None = None
    targets: list[Finding[BakeTarget]] = []
    default: tuple[str, ...] = ()
    bakes = repo.named("docker-bake.hcl", "docker-bake.override.hcl", max_depth=2)
    if bakes:
        rel = bakes[0]
        bake_file = detected(rel, Source(rel), "docker-bake.hcl")
        try:
            data = hcl2.loads(repo.text(rel) or "")
        except Exception as exc:  # python-hcl2 raises lark errors of many kinds
            questions.append(Question("images", f"{rel} is not valid HCL: {exc}", (Source(rel),)))
            data = {}
        base = parent(rel)
        for name, body in _blocks(data, "target").items():
            tags = body.get("tags", [])
            targets.append(
                detected(
                    BakeTarget(
                        name=name,
                        context=repo.join(base, str(body.get("context", "."))),
                        dockerfile=str(body.get("dockerfile", "Dockerfile")),
                        target=str(body["target"]) if "target" in body else None,
                        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
                    ),
                    repo.source(rel, r"^\s*target\s+\"" + re.escape(name) + r"\""),
                    f"bake target {name!r}",
                )
            )
        group = _blocks(data, "group").get("default", {}).get("targets", [])
        default = tuple(str(t) for t in group) if isinstance(group, list) else ()
        if len(bakes) > 1:
            questions.append(
                Question(
                    "images",
                    f"several bake files: {', '.join(bakes)}; {rel} was read",
                    tuple(Source(b) for b in bakes),
                )
            )
    return Images(tuple(found), test_dockerfile, bake_file, tuple(targets), default, tuple(questions))
