"""One job on the Docker engine: what a spec becomes, in order, and its cleanup.

For a job with services, a job network on which each service answers to its own
name (so two jobs may both have a ``postgres``); a shared service (``shared.py``)
is the run's one instance instead, on its own network the job joins. Cache
volumes; the job container (kept alive by ``sleep``), started from the run's source
snapshot when the spec copies directories (made once per run, ``shared.py``), with
the single files and the CA bundle copied in as tar streams; each command exec'd in
turn, its output streamed to the log; outputs exported; then everything the job
made is removed, also on failure and cancellation (the engine shields the cleanup).
Each phase is timed (``PhaseClock``) for the report.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import docker.errors
from docker import APIClient

from pipeline.engines.base import LABEL_SERVICE
from pipeline.engines.docker.errors import call, call_long
from pipeline.engines.docker.execs import exec_stream
from pipeline.engines.docker.oom import SIGKILL_EXIT, oom_killed
from pipeline.engines.docker.services import wait_ready
from pipeline.engines.docker.setup import Made, Setup, endpoints, put_ca, quietly, resolve_image
from pipeline.engines.docker.tar import extract_output, file_tar
from pipeline.engines.docker.volumes import LABEL_CACHE, host_lock, slug, volume_name
from pipeline.model.errors import ImageBuildFailed, SlipwayError
from pipeline.model.joblog import JobLog, LineSplitter
from pipeline.model.sizes import format_size
from pipeline.model.spec import ContainerSpec, ServiceSpec, Sharing
from pipeline.model.timing import PhaseClock

__all__ = ["KEEP_ALIVE", "Made", "Setup", "cleanup", "quietly", "run_job"]

# sleep, not the image's command: the job's commands are exec'd one by one.
KEEP_ALIVE = ["sleep", "2147483647"]
# The result of a job whose services never got ready (docker run's own code for
# "could not start"): no command ran.
EXIT_SERVICE_NOT_READY = 125
EXIT_BUILD_FAILED = 125
CPU_SHARES_PER_CPU = 1024  # Docker's default weight, one CPU's worth
MIN_CPU_SHARES = 2  # the kernel's floor
SERVICE_EXIT_GRACE_S = 1.5

Started = Callable[[str], None]  # told the job container's id once it runs


async def run_job(
    setup: Setup,
    *,
    spec: ContainerSpec,
    run_net: str,
    secrets: dict[str, str],
    log: JobLog,
    held: AsyncExitStack,
    made: Made,
    output_dir: Path,
    clock: PhaseClock,
    on_started: Started | None = None,
) -> tuple[int, dict[str, Path], bool]:
    """(exit code, exported outputs, killed by the OOM killer) of the spec; the caller
    cleans ``made`` up."""
    api, job = setup.api, slug(spec.name)
    try:
        with clock.phase("image"):
            ref = await resolve_image(setup, spec.image, log)
        with clock.phase("services"):
            networks = await _services(setup, spec=spec, job=job, run_net=run_net, log=log, made=made)
    except ImageBuildFailed as exc:
        log.engine(str(exc))
        return EXIT_BUILD_FAILED, {}, False
    if networks is None:
        log.engine("not running the job's commands: a service is not ready")
        return EXIT_SERVICE_NOT_READY, {}, False
    if spec.directories:
        with clock.phase("source"):
            ref = await setup.shared.snapshot(setup, ref, spec.directories, log)
    with clock.phase("create"):
        binds = await _cache_volumes(setup, spec, job, held, made)
        cid = await _create_job_container(setup, spec=spec, job=job, image=ref, run_net=run_net, binds=binds)
        made.containers.append(cid)
        for net in networks:
            await call("connect the job to its services", api.connect_container_to_network, cid, net)
    with clock.phase("copy"):
        await _copy_files(setup, cid, spec)
    with clock.phase("start"):
        await call("start the job container", api.start, cid)
    if on_started is not None:
        on_started(cid)
    code, oom = 0, False
    with clock.phase("commands"):
        for argv in spec.commands:
            clock.mark("command_start")
            code = await _exec(api, cid=cid, spec=spec, argv=argv, secrets=secrets, log=log)
            clock.mark("command_end")
            if code != 0:
                log.engine(f"command exited {code}: {shlex.join(argv)}; stopping here")
                oom = await _say_oom(api, cid, spec, code, log)
                await _say_dead_services(api, made, log)
                break
    with clock.phase("export"):
        outputs = await _export(api, cid, spec.outputs, output_dir, log)
    return code, outputs, oom


async def _say_oom(api: APIClient, cid: str, spec: ContainerSpec, code: int, log: JobLog) -> bool:
    """A command killed (137): was it the OOM killer? Said in the log when it was."""
    if code != SIGKILL_EXIT or not await call("ask whether the OOM killer ran", oom_killed, api, cid):
        return False
    limit = spec.limits.memory_bytes
    why = (
        f"the command went past the job's memory limit of {format_size(limit)}"
        if limit
        else "the machine ran out of memory (the job has no `memory:` limit)"
    )
    log.engine(f"killed by the OOM killer: {why} (exit code {code})")
    return True


async def _say_dead_services(api: APIClient, made: Made, log: JobLog) -> None:
    """A service that stopped under the job (killed, crashed, out of memory) is the
    likelier cause of its failure than the job's own code: say which, and how.

    The job can see its service's sockets close before Docker has recorded the exit
    (the daemon waits on the shim before it updates the state; under load that took
    longer than the job's own exit), so a service still shown running is looked at
    again for up to ``SERVICE_EXIT_GRACE_S``: a cost paid only by a failed job."""
    services = [*made.shared_services, *made.containers]
    deadline = anyio.current_time() + SERVICE_EXIT_GRACE_S
    while True:
        running = 0
        for cid in list(services):
            try:
                info = await call("inspect a service", api.inspect_container, cid)
            except SlipwayError:
                services.remove(cid)  # gone already: nothing more to say than the command's exit
                continue
            name = (info.get("Config", {}).get("Labels") or {}).get(LABEL_SERVICE)
            state = info.get("State", {})
            if not name:
                services.remove(cid)
            elif not state.get("Running", True):
                services.remove(cid)
                code = state.get("ExitCode")
                how = "killed by the OOM killer" if state.get("OOMKilled") else f"exit code {code}"
                log.engine(f"service {name} stopped during the job ({how}); the job's failure is likely its")
            else:
                running += 1
        if not running or anyio.current_time() >= deadline:
            return
        await anyio.sleep(0.1)


async def _services(
    setup: Setup, *, spec: ContainerSpec, job: str, run_net: str, log: JobLog, made: Made
) -> list[str] | None:
    """The networks the job container joins for its services; None if one is not ready.

    The run's shared services first (usually already started by ``prepare_services``),
    then the job's own on a network of its own."""
    networks: list[str] = []
    for svc in (s for s in spec.services if s.shared):
        got = await setup.shared.service(setup, svc, spec.name, log)
        made.shared_services.append(got.container)
        if not got.ready:
            return None
        networks.append(got.network)
    own = [s for s in spec.services if not s.shared]
    if not own:
        return networks
    job_net = f"{run_net}-{job}-{uuid.uuid4().hex[:6]}"
    await call(
        "create a network",
        setup.api.create_network,
        job_net,
        driver="bridge",
        labels=setup.job_labels(spec.name),
        check_duplicate=True,
    )
    made.networks.append(job_net)
    ready = await _start_services(
        setup, services=own, spec=spec, job=job, job_net=job_net, log=log, made=made
    )
    return [*networks, job_net] if ready else None


async def _start_services(
    setup: Setup,
    *,
    services: list[ServiceSpec],
    spec: ContainerSpec,
    job: str,
    job_net: str,
    log: JobLog,
    made: Made,
) -> bool:
    api = setup.api
    ids: list[tuple[ServiceSpec, str]] = []
    for svc in services:
        ref = await resolve_image(setup, svc.image, log)
        env = dict([*setup.ca_env(), *svc.env])
        cid = (
            await call(
                f"create service {svc.name}",
                api.create_container,
                ref,
                command=list(svc.command) or None,
                environment=env,
                name=f"slipway-{slug(setup.run_id)}-{job}-{slug(svc.name)}-{uuid.uuid4().hex[:6]}",
                labels=setup.job_labels(spec.name, **{LABEL_SERVICE: svc.name}),
                host_config=api.create_host_config(network_mode=job_net, init=True),
                networking_config=endpoints(api, job_net, svc.name),
            )
        )["Id"]
        made.containers.append(cid)
        await put_ca(setup, cid)
        await call(f"start service {svc.name}", api.start, cid)
        log.engine(f"service {svc.name} started from {ref}")
        ids.append((svc, cid))
    results: dict[str, bool] = {}

    async def wait(svc: ServiceSpec, cid: str) -> None:
        results[svc.name] = await wait_ready(api, cid, svc, job_net, log)

    async with anyio.create_task_group() as tg:
        for svc, cid in ids:
            tg.start_soon(wait, svc, cid)
    return all(results.values())


async def _cache_volumes(
    setup: Setup, spec: ContainerSpec, job: str, held: AsyncExitStack, made: Made
) -> list[str]:
    binds = []
    for cache in spec.caches:
        name = volume_name(cache, setup.run_id, job)
        if cache.sharing is Sharing.PRIVATE:
            labels = setup.job_labels(spec.name, **{LABEL_CACHE: cache.name})
            made.volumes.append(name)
        else:
            labels = {LABEL_CACHE: cache.name}
        await call("create a cache volume", setup.api.create_volume, name, labels=labels)
        if cache.sharing is Sharing.LOCKED:
            await held.enter_async_context(host_lock(name))
        binds.append(f"{name}:{cache.path}:rw")
    return binds


def cpu_limits(spec: ContainerSpec) -> dict[str, Any]:
    """docker-py's host_config keys for the spec's limits: a weight is ``cpu_shares``
    (no cap: an idle core goes to whoever can use it), a cap is ``nano_cpus``."""
    limits: dict[str, Any] = {}
    if spec.limits.cpus:
        limits["nano_cpus"] = int(spec.limits.cpus * 1e9)
    if spec.limits.cpu_weight:
        limits["cpu_shares"] = max(MIN_CPU_SHARES, round(spec.limits.cpu_weight * CPU_SHARES_PER_CPU))
    if spec.limits.memory_bytes:
        limits["mem_limit"] = spec.limits.memory_bytes
        limits["memswap_limit"] = spec.limits.memory_bytes  # no swap past the limit: it is the limit
    return limits


async def _create_job_container(
    setup: Setup, *, spec: ContainerSpec, job: str, image: str, run_net: str, binds: list[str]
) -> str:
    api = setup.api
    created = await call(
        "create the job container",
        api.create_container,
        image,
        command=KEEP_ALIVE[1:],
        entrypoint=KEEP_ALIVE[:1],
        environment=dict(setup.container_env(spec)),
        working_dir=spec.workdir,
        user=spec.user or "",
        name=f"slipway-{slug(setup.run_id)}-{job}-{uuid.uuid4().hex[:6]}",
        labels=setup.job_labels(spec.name),
        host_config=api.create_host_config(binds=binds, network_mode=run_net, init=True, **cpu_limits(spec)),
        networking_config=endpoints(api, run_net, job),
    )
    return str(created["Id"])


async def _copy_files(setup: Setup, cid: str, spec: ContainerSpec) -> None:
    """The single files and the CA bundle (the directories are in the snapshot image)."""
    for f in spec.files:
        data = await anyio.to_thread.run_sync(file_tar, f.source, f.dest)
        with data:
            await call(f"copy {f.source} to {f.dest}", setup.api.put_archive, cid, "/", data)
    await put_ca(setup, cid)


async def _exec(
    api: APIClient,
    *,
    cid: str,
    spec: ContainerSpec,
    argv: tuple[str, ...],
    secrets: dict[str, str],
    log: JobLog,
) -> int:
    log.engine(f"$ {shlex.join(argv)}")

    def stream() -> int:
        out, err = LineSplitter(log), LineSplitter(log)
        code = exec_stream(
            api,
            cid,
            argv,
            out.feed,
            on_stderr=err.feed,
            environment=secrets,
            workdir=spec.workdir,
            user=spec.user or "",
        )
        out.flush()
        err.flush()
        return code

    return await call_long(f"run {argv[0]}", stream)


async def _export(
    api: APIClient, cid: str, paths: tuple[str, ...], output_dir: Path, log: JobLog
) -> dict[str, Path]:
    def export(path: str) -> Path | None:
        try:
            chunks, _stat = api.get_archive(cid, path)
        except docker.errors.NotFound:
            return None
        return extract_output(chunks, path, output_dir)

    outputs: dict[str, Path] = {}
    for path in paths:
        host = await call(f"export {path}", export, path)
        if host is None:
            log.engine(f"output {path} does not exist in the container; not exported")
        else:
            outputs[path] = host
            log.engine(f"exported {path} -> {host}")
    return outputs


async def cleanup(api: APIClient, made: Made) -> None:
    # Containers first: a network or volume in use cannot be removed.
    for cid in reversed(made.containers):
        await quietly(call("remove a container", api.remove_container, cid, force=True))
    for net in made.networks:
        await quietly(call("remove a network", api.remove_network, net))
    for vol in made.volumes:
        await quietly(call("remove a volume", api.remove_volume, vol, force=True))
