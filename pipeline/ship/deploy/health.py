"""Health checks with retries: an HTTP URL that must answer 2xx, or a command that must exit 0.

A command probe gets the same small environment as a deploy command (``command.runner_env``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping

import anyio
import httpx

from pipeline.config.model import Health
from pipeline.ship.deploy.command import runner_env

Probe = Callable[[], Awaitable[tuple[bool, str]]]


async def http_probe(url: str, timeout_s: float) -> tuple[bool, str]:
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.get(url)
    except httpx.HTTPError as exc:
        return False, f"{url}: {exc!r}"
    return resp.is_success, f"{url}: HTTP {resp.status_code}"


async def command_probe(
    argv: tuple[str, ...], timeout_s: float, env: Mapping[str, str], cwd: str
) -> tuple[bool, str]:
    try:
        with anyio.fail_after(timeout_s):
            done = await anyio.run_process(
                list(argv), check=False, env={**runner_env(), **env}, cwd=cwd, stderr=subprocess.STDOUT
            )
    except TimeoutError:
        return False, f"{argv[0]}: timed out after {timeout_s}s"
    except OSError as exc:
        return False, f"{argv[0]}: {exc}"
    tail = done.stdout.decode("utf-8", errors="replace").strip().splitlines()[-3:]
    return done.returncode == 0, f"{argv[0]} exited {done.returncode}" + (
        f": {' | '.join(tail)}" if tail else ""
    )


async def until_healthy(probe: Probe, health: Health, log: Callable[[str], None]) -> tuple[bool, str, float]:
    """Try ``retries + 1`` times, ``interval_s`` apart; (healthy, last message, seconds taken)."""
    started = time.monotonic()
    message = ""
    for attempt in range(health.retries + 1):
        ok, message = await probe()
        log(f"health attempt {attempt + 1}/{health.retries + 1}: {'ok' if ok else 'not healthy'} ({message})")
        if ok:
            return True, message, time.monotonic() - started
        if attempt < health.retries:
            await anyio.sleep(health.interval_s)
    return False, message, time.monotonic() - started
