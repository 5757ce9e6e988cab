"""Push a built image to the registry and return the digest the registry stored.

``Engine.build_image`` stays the seam for building; publishing is the one step
after it that differs by engine, so it is kept here, in one place:
- Docker: the daemon pushes the tag ``build_image`` gave the image (docker-py,
  credentials passed as the push's auth config, never on a command line);
- Dagger: ``container.with_registry_auth(...).publish(ref)`` on the container
  ``build_image`` built (the secret is a Dagger secret, never a plain string
  in the query).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from pipeline.engines.base import Engine
from pipeline.engines.docker_errors import connect, docker_errors
from pipeline.model.errors import SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.secrets import Redactor
from pipeline.ship.registry import split_ref


class PublishFailed(SlipwayError):
    """The registry did not take the image."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # a stray print or log of the object shows no password
        return f"Credentials(username={self.username!r}, password='***')"


async def publish(
    engine: Engine,
    built: str,
    dest: str,
    *,
    credentials: Credentials | None,
    log_path: Path,
    redactor: Redactor,
) -> str:
    """Push ``built`` as ``dest`` (host/repo:tag); returns ``sha256:...``."""
    if credentials is not None:
        redactor.add([credentials.password])
    if engine.name == "dagger":
        return await _publish_dagger(engine, built, dest, credentials)
    return await anyio.to_thread.run_sync(_push_docker, built, dest, credentials, log_path, redactor)


def _push_docker(
    built: str, dest: str, credentials: Credentials | None, log_path: Path, redactor: Redactor
) -> str:
    host, repo, tag = split_ref(dest)
    client = connect()
    try:
        api = client.api
        with JobLog(log_path, redactor) as log, docker_errors(f"push {dest}"):
            if built != dest:
                api.tag(built, f"{host}/{repo}", tag=tag)
            auth: dict[str, Any] | None = None
            if credentials is not None:
                auth = {"username": credentials.username, "password": credentials.password}
            log.engine(f"push {dest}")
            digest = ""
            for item in api.push(f"{host}/{repo}", tag=tag, auth_config=auth, stream=True, decode=True):
                if "error" in item:
                    raise PublishFailed(f"pushing {dest} failed: {redactor(str(item['error']))}")
                aux = item.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
            if not digest:
                raise PublishFailed(f"pushing {dest}: the daemon reported no digest (see {log_path})")
            log.engine(f"pushed {dest}@{digest}")
            return digest
    finally:
        client.close()


async def _publish_dagger(engine: Engine, built: str, dest: str, credentials: Credentials | None) -> str:
    import dagger
    from dagger import dag

    # The Dagger engine keeps what build_image built, by the reference it returned.
    containers: dict[str, dagger.Container] = getattr(engine, "_built", {})
    if built not in containers:
        raise PublishFailed(f"{built} was not built by this Dagger session")
    ctr = containers[built]
    if credentials is not None:
        host, _, _ = split_ref(dest)
        secret = dag.set_secret("slipway-registry-password", credentials.password)
        ctr = ctr.with_registry_auth(host, credentials.username, secret)
    published = await ctr.publish(dest)  # "host/repo:tag@sha256:..."
    return published.rsplit("@", 1)[-1]
