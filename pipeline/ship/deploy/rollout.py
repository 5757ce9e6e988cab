"""The ``docker`` deploy target's rollout: a new release beside the live one, checked
inside the environment's network before it gets traffic, then the proxy's switch,
the public check, the drain, and the old release stopped.

Blocking Docker calls (``DockerHost``) run in worker threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio

from pipeline.config.model import Health
from pipeline.ship.deploy.docker_host import DockerHost, Environment
from pipeline.ship.deploy.health import Probe, until_healthy
from pipeline.ship.releases import Release


@dataclass(frozen=True, slots=True)
class Step:
    """A deploy's outcome before it becomes a JobOutcome and a history entry."""

    ok: bool
    detail: str
    rolled_back_to: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A long-lived service of the environment (its database), kept beside the releases."""

    name: str
    image: str
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    """How one docker deploy goes: its checks, services, variables and drain."""

    health: Health  # the candidate's check inside the network (and the public one's timing)
    public_check: Callable[[dict[str, str]], Probe | None]  # the stage's own check, if any
    services: tuple[Service, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    drain_s: float = 2.0
    say: Callable[[str], None] = print
    line: Callable[[str], None] = print


async def activate(
    host: DockerHost,
    env: Environment,
    release: Release,
    *,
    ref: str,
    digest: str,
    container_port: int,
    rollout: Rollout,
) -> Step:
    """Start ``ref`` beside the live release, check it, switch, drain, stop the old one."""
    health, say = rollout.health, rollout.say
    await anyio.to_thread.run_sync(host.ensure_environment, env)
    for svc in rollout.services:
        started = await anyio.to_thread.run_sync(
            host.ensure_service, env, svc.name, svc.image, dict(svc.env), list(svc.command)
        )
        if started:
            say(f"service {svc.name} of {env.name} started from {svc.image}")
    previous = await anyio.to_thread.run_sync(host.upstream, env)
    name = f"slipway-{env.name}-{release.id}"
    env_vars = {
        **rollout.env,
        "ENVIRONMENT": env.name,
        "GIT_SHA": release.git_sha,
        "SLIPWAY_RELEASE": release.id,
    }
    t0 = time.monotonic()
    say(f"starting {name} from {ref} beside {previous or 'nothing (first release)'}")
    await anyio.to_thread.run_sync(
        lambda: host.start_release(
            env, name=name, image=ref, release_id=release.id, digest=digest, environment=env_vars
        )
    )
    path = urlsplit(health.http).path if health.http else ""
    candidate = (
        f"http://{name}:{container_port}{path or '/'}" if health.http else f"tcp://{name}:{container_port}"
    )

    async def candidate_probe() -> tuple[bool, str]:
        return await anyio.to_thread.run_sync(host.probe, env, candidate, health.timeout_s)

    ok, why, took = await until_healthy(candidate_probe, health, say)
    data: dict[str, Any] = {
        "container": name,
        "candidate_check_s": round(took, 2),
        "previous_upstream": previous,
    }
    if not ok:
        logs = await anyio.to_thread.run_sync(host.logs, name)
        for text in logs.splitlines()[-20:]:
            rollout.line(f"  {name}: {text}")
        await anyio.to_thread.run_sync(host.stop_release, name)
        kept = f"; {previous} kept serving" if previous else "; no previous release to keep"
        return Step(False, f"health check failed before the switch ({why}){kept}", data=data)
    upstream = f"{name}:{container_port}"
    s0 = time.monotonic()
    await anyio.to_thread.run_sync(host.switch, env, upstream)
    data["switch_s"] = round(time.monotonic() - s0, 3)
    say(f"switched {env.name} (:{env.port}) to {upstream} in {data['switch_s']}s")
    probe = rollout.public_check(env_vars)
    if probe is not None:
        ok, why, took = await until_healthy(probe, health, say)
        data["public_check_s"] = round(took, 2)
        if not ok:
            if previous:
                await anyio.to_thread.run_sync(host.switch, env, previous)
                say(f"switched {env.name} back to {previous}")
            await anyio.to_thread.run_sync(host.stop_release, name)
            return Step(
                False, f"health check failed after the switch ({why}); switched back to {previous}", data=data
            )
    # Old connections finish on the old release before it is stopped.
    await anyio.sleep(rollout.drain_s)
    for c in await anyio.to_thread.run_sync(host.releases, env.name):
        old = c["Names"][0].lstrip("/")
        if old != name:
            say(f"stopping {old}")
            await anyio.to_thread.run_sync(host.stop_release, old)
    data["deploy_s"] = round(time.monotonic() - t0, 2)
    return Step(True, f"{name} is live on :{env.port} ({ref})", data=data)
