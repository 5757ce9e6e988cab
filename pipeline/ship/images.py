"""The app images a run builds: their tags, where they are pushed, and the run's records.

A build job records each pushed image in the run's ``AppImageRecords``; a deploy
job run on its own (``--only deploy-staging``) finds the same image through the
bake file's tags and the registry, so it never needs a rebuild.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import anyio

from pipeline.config import Config
from pipeline.model.errors import ConfigError, SlipwayError
from pipeline.model.secrets import resolve
from pipeline.model.spec import Credentials
from pipeline.ship.bake import BakeFile, BakeTarget, load_bake
from pipeline.ship.registry import RegistryClient, split_ref


@dataclass(frozen=True, slots=True, kw_only=True)
class AppImage:
    """One built (and, when pushed, published) image of a bake target."""

    target: str
    tags: tuple[str, ...]
    repository: str | None = None  # host/repo in the registry, when pushed
    digest: str | None = None  # sha256:... the registry stored

    @property
    def pinned(self) -> str:
        """The reference to deploy: by digest when pushed, else the first tag."""
        if self.repository and self.digest:
            return f"{self.repository}@{self.digest}"
        return self.tags[0]

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "tags": list(self.tags), "ref": self.pinned}


def bake_file(config: Config) -> BakeFile:
    """The bake file (relative to pipeline.yaml, like docker buildx bake run there),
    with pipeline variables (GIT_SHA...) over the environment."""
    path = config.base_dir / config.model.images.bake
    return load_bake(path, {**os.environ, **config.variables})


def image_tags(config: Config, target: BakeTarget) -> tuple[str, ...]:
    """The target's tags; one carrying the commit SHA is added if none does."""
    sha = config.variables.get("GIT_SHA", "")
    tags = target.tags
    if not sha or any(sha in t for t in tags):
        return tags
    registry = config.model.registry
    prefix = f"{registry.url}/" if registry else ""
    return (*tags, f"{prefix}{config.model.project.name}-{target.name}:{sha}")


def registry_tags(config: Config, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The tags that name the configured registry (those are pushed)."""
    registry = config.model.registry
    if registry is None:
        return ()
    return tuple(t for t in tags if t.startswith(f"{registry.url}/"))


def credentials(config: Config) -> Credentials | None:
    registry = config.model.registry
    if registry is None or registry.password_secret is None:
        return None
    password = resolve([registry.password_secret])[registry.password_secret]
    return Credentials(username=registry.username or "", password=password)


def registry_client(config: Config) -> RegistryClient:
    registry = config.model.registry
    if registry is None:
        raise ConfigError(f"{config.path}: registry: is needed to push and promote images")
    creds = credentials(config)
    return RegistryClient(
        registry.url,
        insecure=registry.insecure,
        username=creds.username if creds else None,
        password=creds.password if creds else None,
    )


class AppImageRecords:
    """Target -> the image this run built, behind its own lock (build, scan and deploy
    jobs of one run share it)."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._images: dict[str, AppImage] = {}

    async def record(self, image: AppImage) -> None:
        async with self._lock:
            self._images[image.target] = image

    async def get(self, target: str) -> AppImage | None:
        async with self._lock:
            return self._images.get(target)


async def find(config: Config, records: AppImageRecords, target: str) -> AppImage:
    """The image of ``target`` for this commit: from this run, else from the registry."""
    known = await records.get(target)
    if known is not None:
        return known
    bake = bake_file(config)
    tags = image_tags(config, bake.target(target))
    pushed = registry_tags(config, tags)
    if not pushed:
        raise SlipwayError(
            f"image {target!r} was not built in this run and none of its tags {list(tags)} "
            "names the configured registry: run its build stage first"
        )
    host, repo, tag = split_ref(pushed[0])
    async with registry_client(config) as client:
        digest = await client.digest(repo, tag)
    image = AppImage(target=target, tags=tags, repository=f"{host}/{repo}", digest=digest)
    await records.record(image)
    return image
