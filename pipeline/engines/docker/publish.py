"""Push an image the daemon built to a registry; the digest the registry stored.

Credentials go as the push's auth config, never on a command line. Blocking:
the engine runs it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docker import APIClient

from pipeline.engines.docker.errors import docker_errors
from pipeline.model.errors import EngineJobError
from pipeline.model.joblog import JobLog
from pipeline.model.secrets import Redactor
from pipeline.model.spec import Credentials

# What the daemon says when nothing answers at the registry's address (Go's net errors).
_UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "no route to host", "connection reset")


def push_failure(dest: str, error: str) -> str:
    """One line for a push the daemon gave up on, naming the registry (``dest``'s host)."""
    host = dest.split("/", 1)[0] if "/" in dest else "docker.io"
    said = " ".join(error.split())
    reason = next((u for u in _UNREACHABLE if u in said.lower()), None)
    if reason:
        return (
            f"registry {host} does not answer ({reason}): is it running and is `registry.url` "
            f"right? The daemon said: {said}"
        )
    return f"registry {host} refused the push: {said}"


def split_tag(dest: str) -> tuple[str, str]:
    """``host:port/repo/name:tag`` -> (``host:port/repo/name``, ``tag``)."""
    name, _, tag = dest.rpartition(":")
    if not name or "/" in tag:
        return dest, "latest"
    return name, tag


def push(
    api: APIClient,
    built: str,
    dest: str,
    credentials: Credentials | None,
    log_path: Path,
    redactor: Redactor,
) -> str:
    """Tag ``built`` as ``dest`` and push it; returns ``sha256:...``."""
    repository, tag = split_tag(dest)
    with JobLog(log_path, redactor) as log, docker_errors(f"push {dest}"):
        if built != dest:
            api.tag(built, repository, tag=tag)
        auth: dict[str, Any] | None = None
        if credentials is not None:
            auth = {"username": credentials.username, "password": credentials.password}
        log.engine(f"push {dest}")
        digest = ""
        for item in api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
            if "error" in item:
                raise EngineJobError(push_failure(dest, redactor(str(item["error"]))))
            aux = item.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = str(aux["Digest"])
        if not digest:
            raise EngineJobError(f"pushing {dest}: the daemon reported no digest (see {log_path})")
        log.engine(f"pushed {dest}@{digest}")
        return digest
