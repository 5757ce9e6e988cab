"""A job's services on Dagger: image first, then start within the readiness timeout, then probe.

- The service's image is pulled (or built) before its start is timed: a cold pull of a
  large image on a busy runner is not a service that is slow to start.
- ``Service.start`` returns when Dagger's own check passes: the exposed port answers
  (the image's HEALTHCHECK only when the spec asks for it: ``chain.service_container``).
- A command readiness check then runs in a probe container beside the service.
- A service that exits, never gets ready, or whose image cannot be had, fails the job
  with exit code 125 (``docker run``'s "could not start", as on the Docker engine), and
  the job's log says which service and why.
- Services are stopped after the job, each within a timeout, also on cancellation; the
  session's end stops whatever is left anyway. A shared service (``ServiceSpec.shared``,
  one instance per run: ``chain.service``) is left running for the run's other jobs:
  the session's end stops it.
"""

from __future__ import annotations

import math
from contextlib import suppress

import anyio
import dagger

from pipeline.engines.dagger.chain import Chain, Setting, readiness_probe, service_container
from pipeline.engines.dagger.errors import DaggerJobFailed, dagger_errors
from pipeline.model.joblog import JobLog
from pipeline.model.spec import Readiness, ReadinessKind, ServiceSpec

EXIT_SERVICE_NOT_READY = 125
STOP_TIMEOUT_S = 10.0
STOP_ON_CANCEL_S = 2.0
# When the probe's own loop gives up it says so; this bounds a probe that never starts.
PROBE_GRACE_S = 30.0


def describe_readiness(svc: ServiceSpec) -> str:
    r = svc.readiness
    if r is None or r.kind is ReadinessKind.TCP:
        return f"port {svc.port} answers" if svc.port is not None else "it runs"
    if r.kind is ReadinessKind.HEALTHCHECK:
        return "its image's HEALTHCHECK passes"
    return "`" + " ".join(r.command) + "` passes beside it"


async def start_services(
    chain: Chain, setting: Setting, nonce: str, log: JobLog, started: list[dagger.Service]
) -> bool:
    """Start and probe each service of the job; False (with the reason logged) if one is
    not ready. ``started`` collects what to stop, also when this is cancelled (never a
    shared service: other jobs of the run use the same instance)."""
    for svc_spec, svc in chain.services:
        name = svc_spec.name
        ready = svc_spec.readiness or Readiness()
        log.engine(f"service {name}: getting its image")
        try:
            async with dagger_errors(f"get the image of service {name}"):
                await service_container(svc_spec, setting).sync()
        except DaggerJobFailed as exc:
            log.engine(f"service {name}: its image cannot be had: {exc}")
            return False
        when = describe_readiness(svc_spec)
        log.engine(f"service {name}: starting; ready when {when} (within {ready.timeout_s:.0f}s)")
        try:
            with anyio.fail_after(ready.timeout_s):
                async with dagger_errors(f"start service {name}"):
                    await svc.start()
            if not svc_spec.shared:
                started.append(svc)
        except TimeoutError:
            log.engine(f"service {name} did not start within {ready.timeout_s:.0f}s")
            return False
        except DaggerJobFailed as exc:
            log.engine(f"service {name} exited before it was ready: {exc}")
            for line in exc.output.splitlines()[-30:]:
                log.line(f"  {name} | {line}")
            return False
        if not await _probe(svc_spec, setting, svc, nonce, log):
            return False
        log.engine(f"service {name}: ready")
    return True


async def _probe(
    svc_spec: ServiceSpec, setting: Setting, svc: dagger.Service, nonce: str, log: JobLog
) -> bool:
    made = readiness_probe(svc_spec, setting, svc, nonce)
    if made is None:
        return True
    probe, note = made
    if note:
        log.engine(note)
    timeout = (svc_spec.readiness or Readiness()).timeout_s + PROBE_GRACE_S
    try:
        with anyio.fail_after(timeout):
            async with dagger_errors(f"probe service {svc_spec.name}"):
                await probe.sync()
    except TimeoutError:
        log.engine(f"service {svc_spec.name}: its readiness probe did not finish within {timeout:.0f}s")
        return False
    except DaggerJobFailed as exc:
        for line in exc.output.splitlines()[-30:]:
            log.line(line)
        log.engine(f"service {svc_spec.name} is not ready: {exc}")
        return False
    return True


async def stop_services(started: list[dagger.Service]) -> None:
    """Stop the started services within ``STOP_TIMEOUT_S`` in all; shielded, never raises.

    When the job is being cancelled (^C; `dagger run` kills us 10 s after its SIGTERM) the
    budget is ``STOP_ON_CANCEL_S``: closing the session stops whatever is left anyway.
    """
    cancelled = anyio.current_effective_deadline() == -math.inf
    budget = STOP_ON_CANCEL_S if cancelled else STOP_TIMEOUT_S
    with anyio.CancelScope(shield=True), anyio.move_on_after(budget):
        for svc in started:
            with suppress(Exception):
                await svc.stop()
