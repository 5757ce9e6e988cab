"""Service containers and their readiness checks.

A service is ready when its readiness check passes: a command exec'd in it exits
0, its TCP port accepts a connection from the host (the container's IP is
routable on Linux), or the image's own HEALTHCHECK reports healthy. A service
that exits or is not ready in time is reported in the job's log; the caller
turns that into a failed result, never a hang.
"""

from __future__ import annotations

import time

import anyio
from docker import APIClient

from pipeline.engines.docker.errors import call
from pipeline.engines.docker.execs import exec_stream
from pipeline.model.joblog import JobLog
from pipeline.model.spec import Readiness, ReadinessKind, ServiceSpec

TCP_PROBE_TIMEOUT_S = 1.0
LOG_TAIL_LINES = 30


def effective_readiness(svc: ServiceSpec) -> Readiness | None:
    """The check to run: the spec's, else its TCP port, else none (running is enough)."""
    if svc.readiness is not None:
        return svc.readiness
    if svc.port is not None:
        return Readiness(kind=ReadinessKind.TCP)
    return None


def describe_readiness(svc: ServiceSpec) -> str:
    r = effective_readiness(svc)
    if r is None:
        return "running"
    if r.kind is ReadinessKind.COMMAND:
        what = "exec " + " ".join(r.command)
    elif r.kind is ReadinessKind.TCP:
        what = f"tcp {svc.port}"
    else:
        what = "image HEALTHCHECK healthy"
    return f"{what} (every {r.interval_s}s, timeout {r.timeout_s:.0f}s)"


async def wait_ready(api: APIClient, container: str, svc: ServiceSpec, network: str, log: JobLog) -> bool:
    """Poll until ``svc`` is ready; False (with the reason and its log tail) if it never is."""
    readiness = effective_readiness(svc)
    timeout = readiness.timeout_s if readiness else 30.0
    interval = readiness.interval_s if readiness else 0.2
    start = time.monotonic()
    log.engine(f"service {svc.name}: waiting for {describe_readiness(svc)}")
    while True:
        info = await call(f"inspect service {svc.name}", api.inspect_container, container)
        state = info["State"]
        if not state.get("Running"):
            log.engine(f"service {svc.name} exited (code {state.get('ExitCode')}) before it was ready")
            await _log_tail(api, container, svc.name, log)
            return False
        if readiness is None:
            ready = True
        elif readiness.kind is ReadinessKind.HEALTHCHECK:
            health = state.get("Health")
            if health is None:
                log.engine(
                    f"service {svc.name}: its image has no HEALTHCHECK; use a tcp or "
                    "command readiness check instead"
                )
                return False
            ready = health.get("Status") == "healthy"
        elif readiness.kind is ReadinessKind.TCP:
            ip = info["NetworkSettings"]["Networks"].get(network, {}).get("IPAddress", "")
            ready = bool(ip) and svc.port is not None and await _tcp_open(ip, svc.port)
        else:
            ready = await _command_ok(api, container, readiness.command)
        elapsed = time.monotonic() - start
        if ready:
            log.engine(f"service {svc.name} ready after {elapsed:.1f}s")
            return True
        if elapsed >= timeout:
            log.engine(
                f"service {svc.name} not ready after {timeout:.0f}s "
                f"(readiness: {describe_readiness(svc)}); its last log lines:"
            )
            await _log_tail(api, container, svc.name, log)
            return False
        await anyio.sleep(interval)


async def _tcp_open(host: str, port: int) -> bool:
    with anyio.move_on_after(TCP_PROBE_TIMEOUT_S):
        try:
            stream = await anyio.connect_tcp(host, port)
        except OSError:
            return False
        await stream.aclose()
        return True
    return False


async def _command_ok(api: APIClient, container: str, argv: tuple[str, ...]) -> bool:
    def probe() -> bool:
        return exec_stream(api, container, argv, lambda _chunk: None) == 0

    return await call("run a readiness command", probe)


async def _log_tail(api: APIClient, container: str, name: str, log: JobLog) -> None:
    raw: bytes = await call(f"read the logs of service {name}", api.logs, container, tail=LOG_TAIL_LINES)
    for line in raw.decode("utf-8", errors="replace").splitlines():
        log.line(f"  {name} | {line}")
