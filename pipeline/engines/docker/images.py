"""Images on the daemon: is one here (its id), and which one runs for a logical name.

The one way the Docker side asks "does this image exist": ``image_id`` (None when
the daemon has no such image). Builds, the job cache, bootstrap, doctor and the
deploy target all ask here. ``ImageResolver`` applies the alias policy of
``pipeline.model.aliases`` once per name and run, and says what it chose.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

import docker.errors
from docker import APIClient
from docker.utils import parse_repository_tag

from pipeline.engines.docker.errors import docker_errors, missing_image_help
from pipeline.model.aliases import ImageChoice, alias_for, choose_image
from pipeline.model.bases import BASE_REPOSITORY, parse_image_name
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


def try_pull(api: APIClient, ref: str) -> str | None:
    """Pull ``ref``; None when it worked, else the daemon's reason (a dead daemon still raises)."""
    repo, tag = parse_repository_tag(ref)
    try:
        with docker_errors(f"pull {ref}"):
            for item in api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                if isinstance(item, dict) and "error" in item:
                    return str(item["error"]).strip()
    except EngineJobError as exc:
        return str(exc)
    return None


def unavailable_help(choice: ImageChoice) -> str:
    """What to do when neither the public image nor its alias target can be had."""
    name = parse_image_name(choice.ref)
    if name is not None and name.ours:
        how = f"build it with `python -m pipeline images bootstrap {choice.ref}`"
    else:
        how = f"make {choice.ref} available (docker pull / docker load)"
    return (
        f"image {choice.logical} is not present locally and cannot be pulled, nor can its "
        f"alias target {choice.ref}: {how}, or map {choice.logical} to a local image under "
        "images.aliases in pipeline.yaml"
    )


class ImageResolver:
    """The image that runs for each logical name, chosen once per run (thread-safe: the
    engine calls it from worker threads) and said once on the console, in every job's log."""

    def __init__(self, aliases: Mapping[str, str], announce: Callable[[str], None] | None = None) -> None:
        self.aliases = dict(aliases)
        self._announce = announce or (lambda _line: None)
        self._choices: dict[str, ImageChoice] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, logical: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(logical, threading.Lock())

    def choose(self, api: APIClient, logical: str, log: JobLog | None = None) -> str:
        """The local image to run for ``logical`` (pulled if needed); ``EngineJobError`` if none."""
        with self._lock(logical):
            choice = self._choices.get(logical)
            if choice is None:
                choice = self._decide(api, logical)
                self._choices[logical] = choice
                self._announce(choice.describe())
        if log is not None:
            log.engine(choice.describe())
        return choice.ref

    def _decide(self, api: APIClient, logical: str) -> ImageChoice:
        choice = choose_image(
            logical,
            self.aliases,
            present=lambda ref: image_exists(api, ref),
            pull=lambda ref: try_pull(api, ref),
        )
        if image_exists(api, choice.ref):
            return choice
        if not choice.aliased:
            raise EngineJobError(f"{missing_image_help(logical)} ({choice.reason})")
        # Step 3 of the policy: the public image cannot be had; the target may be a
        # registry image of the user's (ours are only ever built locally).
        ours = choice.ref.startswith(f"{BASE_REPOSITORY}/")
        if ours or try_pull(api, choice.ref) is not None:
            raise EngineJobError(unavailable_help(choice))
        return choice

    def peek(self, api: APIClient, logical: str) -> str | None:
        """The image that would run for ``logical`` if it is already here (no pull, no
        decision recorded): for cache keys, which must not fetch anything."""
        with self._lock(logical):
            if logical in self._choices:
                return self._choices[logical].ref
        target = alias_for(logical, self.aliases)
        for ref in (target, logical):
            if ref is not None and image_exists(api, ref):
                return ref
        return None
