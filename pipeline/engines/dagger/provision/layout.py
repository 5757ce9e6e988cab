"""Where an engine build lives: outside any work tree, reused by every checkout.

``/var/cache/slipway-dagger`` (or ``$SLIPWAY_DAGGER_CACHE``; a user's cache directory
when /var/cache is not writable) holds the Go caches, the build module, the binaries
of each version, the engine image's context and settings, and the mirror registry.
The names of what runs (container, volume, image, registry port) are here too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

SYSTEM_CACHE = Path("/var/cache/slipway-dagger")
ENV_CACHE = "SLIPWAY_DAGGER_CACHE"

# No `dagger-engine-` prefix: the CLI's docker-image:// runner removes every container
# named so when it starts its own.
CONTAINER = "slipway-dagger-engine"
VOLUME = "slipway-dagger-engine-state"
IMAGE_REPO = "slipway/dagger-engine"
# The Debian root filesystem `images bootstrap` makes (engines/docker/bootstrap/rootfs.py),
# which setup-machine bootstraps before it builds the engine.
BASE_IMAGE = "slipway/debian:bookworm"
MIRROR_PORT = 5055  # the docker.io mirror the engine pulls base images from
TCP_PORT = 1234  # the engine also listens on tcp://127.0.0.1:1234 (a remote engine's way in)
# Labels on the engine container: what a run needs to find and use it.
LABEL_VERSION = "dev.slipway.dagger.version"
LABEL_CLI = "dev.slipway.dagger.cli"
LABEL_MIRROR = "dev.slipway.dagger.mirror"
LABEL_RUN_HASH = "dev.slipway.dagger.run"
LABEL_CONTEXT_HASH = "dev.slipway.dagger.context"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(ENV_CACHE):
        return Path(env[ENV_CACHE])
    parent = SYSTEM_CACHE.parent
    if os.access(parent, os.W_OK) or (not parent.exists() and os.access(parent.parent, os.W_OK)):
        return SYSTEM_CACHE
    return Path(platformdirs.user_cache_dir("slipway")) / "dagger"


@dataclass(frozen=True, slots=True)
class Layout:
    """The paths of one Dagger version's build under the cache root."""

    root: Path
    version: str  # "v0.21.8"

    @property
    def version_dir(self) -> Path:
        return self.root / self.version

    @property
    def bin(self) -> Path:
        return self.version_dir / "bin"

    @property
    def stamp(self) -> Path:
        return self.bin / "STAMP"

    @property
    def cli(self) -> Path:
        return self.bin / "dagger"

    @property
    def src(self) -> Path:
        """The build module: go.mod, the patched dagger tree, stubs."""
        return self.version_dir / "src"

    @property
    def runc_src(self) -> Path:
        return self.version_dir / "runc-src"

    @property
    def image_context(self) -> Path:
        return self.version_dir / "image-context"

    @property
    def engine_json(self) -> Path:
        return self.version_dir / "engine.json"

    @property
    def go_env(self) -> dict[str, str]:
        """Go's module and build caches, kept with the build (a cold build fills 4 GB)."""
        return {"GOMODCACHE": str(self.root / "go" / "mod"), "GOCACHE": str(self.root / "go" / "build")}

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def forward_dir(self) -> Path:
        return self.root / "forward"

    @property
    def image(self) -> str:
        return f"{IMAGE_REPO}:{self.version}"
