"""Dockerfile builds on the Docker engine: offline FROM lines, then the build itself.

With no registry, ``FROM python:3.11-slim`` cannot be pulled; tagging the alias
target (``slipway/python:3.11``) as ``python:3.11-slim`` first lets unmodified
Dockerfiles build offline (``pull=False``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from docker import APIClient
from docker.utils import parse_repository_tag

from pipeline.engines.docker.errors import docker_errors, missing_image_help
from pipeline.engines.docker.images import image_exists
from pipeline.model.aliases import resolve_alias
from pipeline.model.errors import EngineJobError, ImageBuildFailed
from pipeline.model.joblog import JobLog
from pipeline.model.spec import ImageBuild

LABEL_BUILT_BY = "dev.slipway.built-by-run"

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.M)


def from_images(dockerfile_text: str) -> list[str]:
    """External images named by FROM lines (not earlier stages, not ``$ARG`` forms)."""
    stages: set[str] = set()
    images: list[str] = []
    for match in _FROM.finditer(dockerfile_text):
        ref, stage = match.group(1), match.group(2)
        if ref.lower() not in stages and "$" not in ref and ref != "scratch" and ref not in images:
            images.append(ref)
        if stage:
            stages.add(stage.lower())
    return images


def tag_aliased_bases(api: APIClient, dockerfile: Path, aliases: Mapping[str, str], log: JobLog) -> None:
    """Tag alias targets as the logical names the Dockerfile's FROM lines use."""
    if not dockerfile.is_file():
        return
    for logical in from_images(dockerfile.read_text(encoding="utf-8", errors="replace")):
        target = resolve_alias(logical, aliases)
        if target == logical or image_exists(api, logical):
            continue
        if not image_exists(api, target):
            raise EngineJobError(missing_image_help(target, logical))
        repo, tag = parse_repository_tag(logical)
        with docker_errors(f"tag {target} as {logical}"):
            api.tag(target, repo, tag=tag or "latest")
        log.engine(f"tagged {target} as {logical} (alias, so FROM {logical} builds offline)")


def build(api: APIClient, spec: ImageBuild, aliases: Mapping[str, str], run_id: str, log: JobLog) -> str:
    """Build ``spec`` with its log streamed to ``log``; returns its first tag or its id."""
    dockerfile = spec.context / spec.dockerfile
    tag_aliased_bases(api, dockerfile, aliases, log)
    log.engine(describe_build(spec))
    image_id = ""
    with docker_errors(f"build {spec.context}"):
        stream = api.build(
            path=str(spec.context),
            dockerfile=spec.dockerfile,
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
