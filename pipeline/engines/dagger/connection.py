"""Where a Dagger engine is, and whether it really answers (without importing dagger-io).

The places a session can come from, in the order ``--engine auto|dagger`` tries them:

1. a session ``dagger run`` opened for us (DAGGER_SESSION_PORT and _TOKEN);
2. an engine the environment names (_EXPERIMENTAL_DAGGER_RUNNER_HOST, e.g. a remote
   ``tcp://`` engine), with a CLI to open sessions on it;
3. Slipway's own engine container (``python -m pipeline engine dagger --start``), found
   by name; its labels say where the CLI of its version is, so no export is needed;
4. a ``dagger`` CLI on PATH, with the CLI's own default engine.

Each candidate is probed before it is chosen: the engine's version is asked for, with a
timeout (a CLI that cannot start an engine hangs or fails; a stale session refuses).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import docker.errors
import httpx

from pipeline.engines.dagger.provision.layout import CONTAINER, LABEL_CLI, LABEL_MIRROR
from pipeline.engines.docker.errors import connect
from pipeline.model.errors import SlipwayError

PROBE_TIMEOUT_S = 30.0
# The CLI's calls home (update checks, telemetry, nags), which runners need not make.
QUIET_ENV = {"DAGGER_NO_UPDATE_CHECK": "1", "DO_NOT_TRACK": "1", "DAGGER_NO_NAG": "1"}

Kind = Literal["session", "runner", "slipway", "cli"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DaggerTarget:
    """One way to reach an engine, and what a session on it needs in its environment."""

    kind: Kind
    description: str
    cli: str | None = None  # the CLI the SDK starts `dagger session` with
    runner_host: str | None = None  # _EXPERIMENTAL_DAGGER_RUNNER_HOST for that CLI
    mirror: str | None = None  # the runner-side address of the engine's docker.io mirror
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def session_env(self) -> dict[str, str]:
        """Variables the SDK (and the CLI it starts) must see to reach this engine."""
        env = {**QUIET_ENV, **self.extra_env}
        if self.cli:
            env["_EXPERIMENTAL_DAGGER_CLI_BIN"] = self.cli
        if self.runner_host:
            env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] = self.runner_host
        return env


@dataclass(frozen=True, slots=True)
class Probe:
    version: str  # the engine's, e.g. "v0.21.8"
    seconds: float


class ProbeFailed(SlipwayError):
    """The candidate did not answer; the message says how."""


def dagger_session(environ: Mapping[str, str]) -> bool:
    """True under ``dagger run``, which exports the session's port and token."""
    return bool(environ.get("DAGGER_SESSION_PORT") and environ.get("DAGGER_SESSION_TOKEN"))


def slipway_engine() -> DaggerTarget | None:
    """Slipway's engine container, if it runs here (its labels name its CLI)."""
    try:
        client = connect(timeout=5)
    except SlipwayError:
        return None
    try:
        info = client.api.inspect_container(CONTAINER)
    except docker.errors.DockerException:
        return None
    finally:
        client.close()
    labels = info.get("Config", {}).get("Labels") or {}
    if not info.get("State", {}).get("Running"):
        return None
    return DaggerTarget(
        kind="slipway",
        description=f"Slipway's engine container {CONTAINER}",
        cli=labels.get(LABEL_CLI),
        runner_host=f"docker-container://{CONTAINER}",
        mirror=labels.get(LABEL_MIRROR),
    )


def container_state(runner_host: str | None) -> str | None:
    """Why the engine's container is not running (stopped, with its status and exit code,
    or gone), for a ``docker-container://NAME`` engine this host's Docker runs; None when
    it runs or when that cannot be told (another kind of host, or Docker does not answer)."""
    prefix = "docker-container://"
    if not runner_host or not runner_host.startswith(prefix):
        return None
    name = runner_host.removeprefix(prefix)
    try:
        client = connect(timeout=10)
    except SlipwayError:
        return None
    try:
        state = client.api.inspect_container(name).get("State", {})
    except docker.errors.NotFound:
        return f"the engine container {name} is gone"
    except docker.errors.DockerException:
        return None
    finally:
        client.close()
    if state.get("Running"):
        return None
    status, code = state.get("Status"), state.get("ExitCode")
    return f"the engine container {name} has stopped ({status}, exit code {code})"


def candidates(
    environ: Mapping[str, str],
    *,
    which: Callable[[str], str | None],
    find_slipway: Callable[[], DaggerTarget | None] | None = None,
) -> list[DaggerTarget]:
    """Every place a session could come from here, in the order they are tried."""
    found: list[DaggerTarget] = []
    if dagger_session(environ):
        found.append(DaggerTarget(kind="session", description="the session `dagger run` opened"))
    slipway = (find_slipway or slipway_engine)()
    cli = environ.get("_EXPERIMENTAL_DAGGER_CLI_BIN") or which("dagger")
    if runner := environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST"):
        found.append(
            DaggerTarget(
                kind="runner",
                description=f"the engine at {runner} (_EXPERIMENTAL_DAGGER_RUNNER_HOST)",
                cli=cli or (slipway.cli if slipway else None),
                runner_host=runner,
            )
        )
    if slipway is not None:
        found.append(slipway)
    if cli:
        found.append(DaggerTarget(kind="cli", description=f"the dagger CLI at {cli}", cli=cli))
    return found


def probe(target: DaggerTarget, environ: Mapping[str, str], timeout_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Ask the engine behind ``target`` for its version; ``ProbeFailed`` says why it cannot."""
    started = time.monotonic()
    if target.kind == "session":
        version = _session_version(environ, timeout_s)
    else:
        version = _cli_version(target, environ, timeout_s)
    return Probe(version=version, seconds=round(time.monotonic() - started, 1))


def _session_version(environ: Mapping[str, str], timeout_s: float) -> str:
    url = f"http://127.0.0.1:{environ['DAGGER_SESSION_PORT']}/query"
    try:
        resp = httpx.post(
            url,
            json={"query": "{ version }"},
            auth=(environ["DAGGER_SESSION_TOKEN"], ""),
            timeout=timeout_s,
        )
        resp.raise_for_status()
        return str(resp.json()["data"]["version"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        raise ProbeFailed(f"the `dagger run` session at {url} does not answer ({exc})") from exc


def _cli_version(target: DaggerTarget, environ: Mapping[str, str], timeout_s: float) -> str:
    if not target.cli or not (os.path.isfile(target.cli) or shutil.which(target.cli)):
        raise ProbeFailed(f"{target.description}: no dagger CLI to open a session with ({target.cli})")
    env = {**environ, **target.session_env(), "NO_COLOR": "1"}
    try:
        proc = subprocess.run(
            [target.cli, "query", "--progress=plain"],
            input="{ version }",
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProbeFailed(f"{target.description}: no engine answered within {timeout_s:.0f}s") from exc
    except OSError as exc:
        raise ProbeFailed(f"{target.description}: cannot run {target.cli} ({exc})") from exc
    try:
        return str(json.loads(proc.stdout)["version"])
    except (ValueError, KeyError, TypeError):
        last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or [
            f"exit {proc.returncode}"
        ]
        raise ProbeFailed(f"{target.description}: the engine did not answer ({last[0].strip()})") from None
