"""Shared cache volumes as tar files, for the job cache's volume sync.

A named volume's content leaves and enters through a helper container that mounts it
and is never started: the daemon serves ``get_archive`` / ``put_archive`` on a created
container's mounts, so no command runs and any local image will do. The helper carries
the run's labels, so ``aclose`` and ``gc`` remove it if we die half way.
"""

from __future__ import annotations

import contextlib
import tarfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import docker.errors
from docker import APIClient

from pipeline.engines.docker.errors import docker_errors
from pipeline.engines.docker.images import image_id
from pipeline.engines.docker.volumes import LABEL_CACHE, slug, volume_name
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.spec import CacheMount

# Where the helper mounts the volume; the archive's top directory is its base name.
MOUNT_DIR = "/slipway"
MOUNT_PATH = f"{MOUNT_DIR}/volume"


def shared_volume(cache: str) -> str:
    """The Docker volume of the shared or locked cache ``cache`` (see ``volumes``)."""
    return volume_name(CacheMount(name=cache, path=MOUNT_PATH), "", "")


class _ChunkReader:
    """A file-like view of ``get_archive``'s chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class VolumeHelper:
    """Moves shared cache volumes' content in and out (blocking calls: run in a thread)."""

    def __init__(self, api: APIClient, aliases: Mapping[str, str], labels: Mapping[str, str]) -> None:
        self._api = api
        # Any local image can hold a mount; the run's own base images are most likely here.
        self._images = list(dict.fromkeys([*aliases.values(), *DEFAULT_ALIASES.values()]))
        self._labels = dict(labels)

    def _exists(self, volume: str) -> bool:
        try:
            self._api.inspect_volume(volume)
        except docker.errors.NotFound:
            return False
        return True

    def _image(self) -> str:
        for ref in self._images:
            if image_id(self._api, ref) is not None:
                return ref
        raise docker.errors.ImageNotFound(
            "no local image to mount a cache volume in: run `python -m pipeline images bootstrap`"
        )

    @contextlib.contextmanager
    def _mounted(self, volume: str) -> Iterator[str]:
        """A created, never started container with ``volume`` at ``MOUNT_PATH``."""
        created = self._api.create_container(
            self._image(),
            command=["true"],
            name=f"slipway-volume-{slug(volume)}-{uuid.uuid4().hex[:6]}",
            labels=self._labels,
            host_config=self._api.create_host_config(binds=[f"{volume}:{MOUNT_PATH}:rw"]),
        )
        cid = str(created["Id"])
        try:
            yield cid
        finally:
            with contextlib.suppress(docker.errors.APIError):
                self._api.remove_container(cid, force=True, v=False)

    def is_empty(self, cache: str) -> bool:
        """True if the volume is missing or holds nothing; reads two tar headers at most."""
        volume = shared_volume(cache)
        with docker_errors(f"look into volume {volume}"):
            if not self._exists(volume):
                return True
            with self._mounted(volume) as cid:
                chunks, _stat = self._api.get_archive(cid, MOUNT_PATH)
                try:
                    reader = _ChunkReader(chunks)
                    with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                        # The first member is the mount directory itself; a second is content.
                        for seen, _member in enumerate(tar, start=1):
                            if seen > 1:
                                return False
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
        return True

    def export(self, cache: str, dest: Path) -> None:
        """Write the volume's content to ``dest``: a tar whose top directory is ``volume``."""
        volume = shared_volume(cache)
        with docker_errors(f"export volume {volume}"), self._mounted(volume) as cid:
            chunks, _stat = self._api.get_archive(cid, MOUNT_PATH)
            with dest.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)

    def import_(self, cache: str, tar: Path) -> None:
        """Unpack a tar made by ``export`` into the volume (created if missing)."""
        volume = shared_volume(cache)
        with docker_errors(f"import volume {volume}"):
            if not self._exists(volume):
                # The engine's own label for a shared volume: no run label, so gc keeps it.
                self._api.create_volume(volume, labels={LABEL_CACHE: cache})
            with self._mounted(volume) as cid, tar.open("rb") as data:
                if not self._api.put_archive(cid, MOUNT_DIR, data):
                    raise docker.errors.APIError(f"the daemon refused the archive for volume {volume}")
