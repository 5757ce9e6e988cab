"""Images on the daemon: is one here (its id), and the one to run for a logical name.

The one way the Docker side asks "does this image exist": ``image_id`` (None when
the daemon has no such image). Builds, the job cache, bootstrap, doctor and the
deploy target all ask here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import docker.errors
from docker import APIClient
from docker.utils import parse_repository_tag

from pipeline.engines.docker.errors import docker_errors, missing_image_help
from pipeline.model.aliases import resolve_alias
from pipeline.model.errors import EngineJobError
from pipeline.model.joblog import JobLog


def image_id(api: APIClient, ref: str) -> str | None:
    """The local image's id (a digest of its config), or None if it is not here."""
    with docker_errors(f"inspect image {ref}"):
        try:
            info = api.inspect_image(ref)  # type: ignore[no-untyped-call]  # untyped in the stubs
        except docker.errors.ImageNotFound:
            return None
    value = info.get("Id") if isinstance(info, dict) else None
    return value if isinstance(value, str) and value else None


def image_exists(api: APIClient, ref: str) -> bool:
    return image_id(api, ref) is not None


def missing_images(api: APIClient, refs: Iterable[str]) -> list[str]:
    """The references the daemon does not have, sorted."""
    return [ref for ref in sorted(set(refs)) if not image_exists(api, ref)]


def pull(api: APIClient, ref: str, logical: str | None = None) -> None:
    """Pull ``ref`` (a tag or ``repo@digest``); an image nobody can pull fails the job."""
    repo, tag = parse_repository_tag(ref)
    try:
        with docker_errors(f"pull {ref}"):
            for item in api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                if isinstance(item, dict) and "error" in item:
                    raise EngineJobError(f"pulling {ref} failed: {item['error']}")
    except EngineJobError as exc:
        raise EngineJobError(f"{missing_image_help(ref, logical)} ({exc})") from exc


def ensure_image(api: APIClient, logical: str, aliases: Mapping[str, str], log: JobLog) -> str:
    """The local image to run for ``logical``: its alias target, pulled if it is missing."""
    ref = resolve_alias(logical, aliases)
    if image_exists(api, ref):
        return ref
    log.engine(f"image {ref} not present locally, pulling")
    pull(api, ref, logical)
    return ref
