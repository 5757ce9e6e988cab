"""Dockerfile builds on the Docker engine: FROM lines through the alias policy, then the build.

``FROM python:3.11-slim`` goes through the same choice as a job's image
(``ImageResolver``): where the alias target is what runs, the build reads a copy
of the Dockerfile whose FROM line names the target (docker-py sends a Dockerfile
from outside the context along with it), so no public tag is ever re-pointed at
a stand-in and unmodified Dockerfiles build offline (``pull=False``).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docker import APIClient
from docker.utils import parse_repository_tag

from pipeline.engines.docker.errors import docker_errors
from pipeline.engines.docker.images import ImageResolver
from pipeline.model.errors import ImageBuildFailed
from pipeline.model.joblog import JobLog
from pipeline.model.spec import ImageBuild

LABEL_BUILT_BY = "dev.slipway.built-by-run"

_FROM = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE | re.M)
_STAGE = re.compile(r"\s+AS\s+(\S+)", re.IGNORECASE)


def from_images(dockerfile_text: str) -> list[str]:
    """External images named by FROM lines (not earlier stages, not ``$ARG`` forms)."""
    stages: set[str] = set()
    images: list[str] = []
    for match in _FROM.finditer(dockerfile_text):
        ref, stage = match.group(2), _STAGE.match(match.group(3))
        if ref.lower() not in stages and "$" not in ref and ref != "scratch" and ref not in images:
            images.append(ref)
        if stage:
            stages.add(stage.group(1).lower())
    return images


def with_bases(dockerfile_text: str, chosen: dict[str, str]) -> str:
    """The Dockerfile with each FROM image replaced by the one chosen for it."""

    def swap(match: re.Match[str]) -> str:
        ref = match.group(2)
        return f"{match.group(1)}{chosen.get(ref, ref)}{match.group(3)}"

    return _FROM.sub(swap, dockerfile_text)


@contextmanager
def resolved_dockerfile(
    api: APIClient, dockerfile: Path, images: ImageResolver, log: JobLog
) -> Iterator[str | None]:
    """The Dockerfile to build: the original (None), or a copy outside the context whose
    FROM lines name the images the policy chose. Raises ``EngineJobError`` if one is missing."""
    if not dockerfile.is_file():
        yield None
        return
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    chosen = {ref: images.choose(api, ref, log) for ref in from_images(text)}
    if all(ref == target for ref, target in chosen.items()):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="slipway-dockerfile-") as tmp:
        copy = Path(tmp) / dockerfile.name
        copy.write_text(with_bases(text, chosen), encoding="utf-8")
        yield str(copy)


def build(api: APIClient, spec: ImageBuild, images: ImageResolver, run_id: str, log: JobLog) -> str:
    """Build ``spec`` with its log streamed to ``log``; returns its first tag or its id."""
    dockerfile = spec.context / spec.dockerfile
    with resolved_dockerfile(api, dockerfile, images, log) as rewritten:
        log.engine(describe_build(spec))
        return _build(api, spec, rewritten or spec.dockerfile, run_id, log)


def _build(api: APIClient, spec: ImageBuild, dockerfile_arg: str, run_id: str, log: JobLog) -> str:
    dockerfile = spec.context / spec.dockerfile
    image_id = ""
    with docker_errors(f"build {spec.context}"):
        stream = api.build(
            path=str(spec.context),
            dockerfile=dockerfile_arg,
            target=spec.target,
            buildargs=dict(spec.args),
            tag=spec.tags[0] if spec.tags else None,
            pull=False,
            rm=True,
            forcerm=True,
            labels={LABEL_BUILT_BY: run_id},
            decode=True,
        )
        for item in stream:
            if "error" in item:
                log.engine(f"build failed: {item['error']}".rstrip())
                raise ImageBuildFailed(
                    f"building {dockerfile} failed: {str(item['error']).strip()} (full log: {log.path})"
                )
            text = item.get("stream")
            if isinstance(text, str):
                for line in text.splitlines():
                    if line.strip():
                        log.line(line)
            aux = item.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = str(aux["ID"])
        for extra in spec.tags[1:]:
            repo, tag = parse_repository_tag(extra)
            api.tag(image_id or spec.tags[0], repo, tag=tag or "latest")
    if not image_id and not spec.tags:
        raise ImageBuildFailed(f"building {dockerfile} gave no image id (full log: {log.path})")
    return spec.tags[0] if spec.tags else image_id


def describe_build(spec: ImageBuild) -> str:
    return f"{spec.describe()} (pull=False)"
