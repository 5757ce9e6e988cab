"""``--engine auto|dagger|docker``: pick an engine up front and say why.

auto prefers Dagger (the mission's engine): a session handed over by
``dagger run`` first, then a ``dagger`` CLI on PATH, then a reachable Docker
daemon. Nothing found is an ``EngineUnavailable`` naming what to install or start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

from pipeline.engines.docker.errors import connect, daemon_help, docker_errors
from pipeline.model.errors import EngineUnavailable, SlipwayError, UsageError

EngineRequest = Literal["auto", "dagger", "docker"]
ENGINE_CHOICES: tuple[str, ...] = ("auto", "dagger", "docker")
DOCKER_PING_TIMEOUT_S = 5

DAGGER_HELP = (
    "install the Dagger CLI (https://docs.dagger.io/install) and run "
    "`dagger run python -m pipeline run`, or use --engine docker"
)


class EngineChoice(NamedTuple):
    """The engine to use and the sentence that explains the choice."""

    name: Literal["dagger", "docker"]
    reason: str


def dagger_session(environ: Mapping[str, str]) -> bool:
    """True under ``dagger run``, which exports the session's port and token."""
    return bool(environ.get("DAGGER_SESSION_PORT") and environ.get("DAGGER_SESSION_TOKEN"))


def docker_version(environ: Mapping[str, str] | None = None) -> str:
    """The daemon's version; raises ``EngineUnavailable`` (how to start it) if unreachable."""
    client = connect(timeout=DOCKER_PING_TIMEOUT_S, environ=environ)
    try:
        with docker_errors("read the daemon's version", environ):
            return str(client.version().get("Version", "unknown"))
    finally:
        client.close()


def choose_engine(
    requested: str = "auto",
    *,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] | None = None,
) -> EngineChoice:
    """Resolve ``--engine``; raises ``EngineUnavailable`` if the engine cannot run here."""
    env = os.environ if environ is None else environ
    if which is None:

        def which(name: str) -> str | None:
            return shutil.which(name, path=env.get("PATH"))

    if requested not in ENGINE_CHOICES:
        raise UsageError(f"--engine {requested!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    if requested in ("auto", "dagger"):
        if dagger_session(env):
            return EngineChoice(
                "dagger", "a Dagger session is present (DAGGER_SESSION_PORT, from `dagger run`)"
            )
        # The CLI the SDK would use: the one it is pointed at, else the one on PATH.
        path = env.get("_EXPERIMENTAL_DAGGER_CLI_BIN") or which("dagger")
        if path:
            return EngineChoice("dagger", f"the dagger CLI is on PATH ({path})")
        if requested == "dagger":
            raise EngineUnavailable(f"--engine dagger: no Dagger session and no dagger CLI: {DAGGER_HELP}")
    host = env.get("DOCKER_HOST", "the local socket")
    try:
        version = docker_version(env)
    except SlipwayError as exc:
        if requested == "docker":
            raise
        raise EngineUnavailable(
            f"no engine found: no Dagger session, no dagger CLI on PATH ({DAGGER_HELP}), "
            f"and {daemon_help(env)}"
        ) from exc
    why = (
        "requested with --engine docker"
        if requested == "docker"
        else ("no Dagger session or dagger CLI; a Docker daemon is reachable")
    )
    return EngineChoice("docker", f"{why} (Docker {version} at {host})")
