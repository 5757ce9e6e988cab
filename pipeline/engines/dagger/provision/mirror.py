"""Images for an engine that reaches no registry: local images pushed to its docker.io mirror.

The engine pulls ``python:3.11-slim`` (a ``from_`` or a Dockerfile ``FROM``) from
docker.io, trying its mirror first at ``/v2/library/python/manifests/3.11-slim``. An
alias (``python:3.11-slim -> slipway/python:3.11``) is applied on Dagger by pushing the
alias's local image to the mirror under the public name, and under its own name too, so
that both names resolve on both engines. A public name the mirror lacks goes to Docker
Hub as usual (an ordinary runner reaches it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx

from pipeline.engines.dagger.provision.layout import BASE_IMAGE
from pipeline.engines.dagger.provision.proc import Steps

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
# What the engine itself may pull besides the aliases: the base image its image is on.
ENGINE_IMAGES = {"debian:bookworm": BASE_IMAGE}


def docker_hub_path(ref: str) -> tuple[str, str] | None:
    """(repository, tag) of a Docker Hub reference as the mirror stores it, or None for a
    reference the docker.io mirror cannot serve (another registry, a digest)."""
    if "@" in ref:
        return None
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if first not in DOCKER_HUB_HOSTS:
            return None
        ref = rest
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    if "/" not in name:
        name = f"library/{name}"
    return name, tag or "latest"


def mirror_pairs(aliases: Mapping[str, str]) -> list[tuple[str, str]]:
    """(local image, name it is mirrored as) for every alias and the engine's own images:
    the public name and the alias target's own name both resolve on Dagger."""
    pairs: list[tuple[str, str]] = []
    for public, local in {**ENGINE_IMAGES, **aliases}.items():
        for name in (public, local):
            if docker_hub_path(name) is not None:
                pairs.append((local, name))
    return list(dict.fromkeys(pairs))


def repo_tag(name: str) -> str:
    path = docker_hub_path(name)
    assert path is not None, name
    return f"{path[0]}:{path[1]}"


def in_mirror(port: int, path: str) -> bool:
    repo, _, tag = path.rpartition(":")
    try:
        resp = httpx.head(
            f"http://127.0.0.1:{port}/v2/{repo}/manifests/{tag}",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
            timeout=10,
        )
    except httpx.HTTPError:
        return False
    return resp.status_code == 200


def local_image_id(ref: str) -> str | None:
    proc = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


@dataclass(frozen=True, slots=True)
class Mirrored:
    """What the mirror holds of the pairs asked for (names as given), and what was pushed."""

    present: frozenset[str]
    pushed: tuple[str, ...]


def ensure_mirrored(steps: Steps, port: int, pairs: Iterable[tuple[str, str]]) -> Mirrored:
    """Push each local image the mirror lacks. An alias whose local image is missing is
    skipped (the public image is pulled where it is reachable)."""
    present: set[str] = set()
    pushed: list[str] = []
    for local, name in pairs:
        path = repo_tag(name)
        if in_mirror(port, path):
            present.add(name)
            continue
        if local_image_id(local) is None:
            steps.skip(f"{local} is not a local image: {name} is not mirrored")
            continue
        temp = f"127.0.0.1:{port}/{path}"
        steps.run(["docker", "tag", local, temp], echo=False)
        try:
            steps.run(["docker", "push", "-q", temp], echo=False)
        finally:
            subprocess.run(["docker", "rmi", temp], capture_output=True, check=False)
        present.add(name)
        pushed.append(f"{local} as {path}")
    return Mirrored(present=frozenset(present), pushed=tuple(pushed))
