"""``--engine auto|dagger|docker``: pick an engine up front and say why.

auto prefers Dagger (the mission's engine), but only an engine that really answers:
each place a Dagger session could come from (``engines/dagger/connection.py``) is
probed, with a timeout, and its version must be the SDK's. The first that answers is
chosen; when none does, a reachable Docker daemon is, and the reason says why each
Dagger candidate was passed over. Nothing found is an ``EngineUnavailable`` naming
what to install or start.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

from pipeline.engines.dagger.connection import (
    DaggerTarget,
    Probe,
    ProbeFailed,
    candidates,
    dagger_session,
    probe,
)
from pipeline.engines.docker.errors import connect, daemon_help, docker_errors
from pipeline.model.errors import EngineUnavailable, SlipwayError, UsageError

__all__ = ["ENGINE_CHOICES", "EngineChoice", "choose_engine", "dagger_session", "docker_version"]

EngineRequest = Literal["auto", "dagger", "docker"]
ENGINE_CHOICES: tuple[str, ...] = ("auto", "dagger", "docker")
DOCKER_PING_TIMEOUT_S = 5

DAGGER_HELP = (
    "start Slipway's engine with `python -m pipeline engine dagger --start`, or run under "
    "`dagger run python -m pipeline run` with an engine of your own, or use --engine docker"
)

Prober = Callable[[DaggerTarget, Mapping[str, str]], Probe]


class EngineChoice(NamedTuple):
    """The engine to use, the sentence that explains the choice, and for Dagger where it is."""

    name: Literal["dagger", "docker"]
    reason: str
    dagger: DaggerTarget | None = None


def sdk_version() -> str:
    return importlib.metadata.version("dagger-io")


def version_mismatch(engine: str, sdk: str) -> str | None:
    """Why an engine of version ``engine`` cannot serve dagger-io ``sdk``, or None."""
    if engine.lstrip("v") == sdk:
        return None
    return (
        f"the engine is {engine} but dagger-io is {sdk}: Slipway pins the SDK to the engine it "
        f"builds; use an engine of v{sdk} (`python -m pipeline engine dagger --start` builds one)"
    )


def docker_version(environ: Mapping[str, str] | None = None) -> str:
    """The daemon's version; raises ``EngineUnavailable`` (how to start it) if unreachable."""
    client = connect(timeout=DOCKER_PING_TIMEOUT_S, environ=environ)
    try:
        with docker_errors("read the daemon's version", environ):
            return str(client.version().get("Version", "unknown"))
    finally:
        client.close()


def find_dagger(
    environ: Mapping[str, str],
    *,
    which: Callable[[str], str | None],
    prober: Prober,
    find_slipway: Callable[[], DaggerTarget | None] | None,
) -> tuple[EngineChoice | None, list[str]]:
    """The first Dagger candidate that answers with the SDK's version, and why the
    others were passed over."""
    passed: list[str] = []
    sdk = sdk_version()
    for target in candidates(environ, which=which, find_slipway=find_slipway):
        try:
            answer = prober(target, environ)
        except ProbeFailed as exc:
            passed.append(str(exc))
            continue
        mismatch = version_mismatch(answer.version, sdk)
        if mismatch:
            passed.append(f"{target.description}: {mismatch}")
            continue
        reason = f"{target.description} answered ({answer.version}, in {answer.seconds}s)"
        return EngineChoice("dagger", reason, target), passed
    return None, passed


def choose_engine(
    requested: str = "auto",
    *,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] | None = None,
    prober: Prober = probe,
    find_slipway: Callable[[], DaggerTarget | None] | None = None,
) -> EngineChoice:
    """Resolve ``--engine``; raises ``EngineUnavailable`` if the engine cannot run here."""
    env = os.environ if environ is None else environ
    if which is None:

        def which(name: str) -> str | None:
            return shutil.which(name, path=env.get("PATH"))

    if requested not in ENGINE_CHOICES:
        raise UsageError(f"--engine {requested!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    passed: list[str] = []
    if requested in ("auto", "dagger"):
        found, passed = find_dagger(env, which=which, prober=prober, find_slipway=find_slipway)
        if found is not None:
            return found
        if requested == "dagger":
            why = "; ".join(passed) or "no Dagger session, engine or CLI here"
            raise EngineUnavailable(f"--engine dagger: {why}. {DAGGER_HELP}")
    host = env.get("DOCKER_HOST", "the local socket")
    try:
        version = docker_version(env)
    except SlipwayError as exc:
        if requested == "docker":
            raise
        why = "; ".join(passed) or "no Dagger session, engine or CLI here"
        raise EngineUnavailable(f"no engine found: {why} ({DAGGER_HELP}), and {daemon_help(env)}") from exc
    if requested == "docker":
        why = "requested with --engine docker"
    elif passed:
        why = "no Dagger engine answered (" + "; ".join(passed) + "); a Docker daemon is reachable"
    else:
        why = "no Dagger session, engine or CLI here; a Docker daemon is reachable"
    return EngineChoice("docker", f"{why} (Docker {version} at {host})")
