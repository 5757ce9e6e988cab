"""One job on the Docker engine: what a spec becomes, in order, and its cleanup.

For a job with services, a job network on which each service answers to its own
name (so two jobs may both have a ``postgres``); cache volumes; the job container
(kept alive by ``sleep``), with directories, files and the CA bundle copied in
as tar streams; each command exec'd in turn, its output streamed to the log;
outputs exported; then everything the job made is removed, also on failure and
cancellation (the engine shields the cleanup).
"""

from __future__ import annotations

import contextlib
import shlex
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
import docker.errors
from docker import APIClient

from pipeline.engines.base import LABEL_JOB, LABEL_SERVICE
from pipeline.engines.docker import build as docker_build
from pipeline.engines.docker.errors import call, call_long
from pipeline.engines.docker.execs import exec_stream
from pipeline.engines.docker.images import ensure_image
from pipeline.engines.docker.services import wait_ready
from pipeline.engines.docker.tar import directory_tar, extract_output, file_tar
from pipeline.engines.docker.volumes import LABEL_CACHE, host_lock, slug, volume_name
from pipeline.model.ca import CA_PATH, ca_env
from pipeline.model.errors import ImageBuildFailed, SlipwayError
from pipeline.model.joblog import JobLog, LineSplitter
from pipeline.model.spec import ContainerSpec, Image, ImageBuild, ServiceSpec, Sharing

# sleep, not the image's command: the job's commands are exec'd one by one.
KEEP_ALIVE = ["sleep", "2147483647"]
# The result of a job whose services never got ready (docker run's own code for
# "could not start"): no command ran.
EXIT_SERVICE_NOT_READY = 125
EXIT_BUILD_FAILED = 125

Started = Callable[[str], None]  # told the job container's id once it runs


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    """What every job of a run shares on this engine."""

    api: APIClient
    run_id: str
    labels: Mapping[str, str]
    aliases: Mapping[str, str]
    ca_bundle: Path | None

    def job_labels(self, job_name: str, **extra: str) -> dict[str, str]:
        return {**self.labels, LABEL_JOB: job_name, **extra}

    def container_env(self, spec: ContainerSpec) -> list[tuple[str, str]]:
        return [*self.ca_env(), *spec.env]

    def ca_env(self) -> tuple[tuple[str, str], ...]:
        return ca_env() if self.ca_bundle else ()


@dataclass(slots=True)
class Made:
    """What one job created, so its cleanup removes exactly that."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


async def resolve_image(setup: Setup, image: Image, log: JobLog) -> str:
    if isinstance(image, ImageBuild):
        return await call_long(
            "build an image", docker_build.build, setup.api, image, setup.aliases, setup.run_id, log
        )
    return await call("find an image", ensure_image, setup.api, image.ref, setup.aliases, log)


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
    on_started: Started | None = None,
) -> tuple[int, dict[str, Path]]:
    """(exit code, exported outputs) of the spec; the caller cleans ``made`` up."""
    api, job = setup.api, slug(spec.name)
    try:
        ref = await resolve_image(setup, spec.image, log)
    except ImageBuildFailed as exc:
        log.engine(str(exc))
        return EXIT_BUILD_FAILED, {}
    job_net = None
    if spec.services:
        job_net = f"{run_net}-{job}-{uuid.uuid4().hex[:6]}"
        await call(
            "create a network",
            api.create_network,
            job_net,
            driver="bridge",
            labels=setup.job_labels(spec.name),
            check_duplicate=True,
        )
        made.networks.append(job_net)
        try:
            ready = await _start_services(setup, spec=spec, job=job, job_net=job_net, log=log, made=made)
        except ImageBuildFailed as exc:
            log.engine(str(exc))
            return EXIT_BUILD_FAILED, {}
        if not ready:
            log.engine("not running the job's commands: a service is not ready")
            return EXIT_SERVICE_NOT_READY, {}
    binds = await _cache_volumes(setup, spec, job, held, made)
    cid = await _create_job_container(setup, spec=spec, job=job, image=ref, run_net=run_net, binds=binds)
    made.containers.append(cid)
    if job_net:
        await call("connect the job to its network", api.connect_container_to_network, cid, job_net)
    await _copy_in(setup, cid, spec)
    await call("start the job container", api.start, cid)
    if on_started is not None:
        on_started(cid)
    code = 0
    for argv in spec.commands:
        code = await _exec(api, cid=cid, spec=spec, argv=argv, secrets=secrets, log=log)
        if code != 0:
            log.engine(f"command exited {code}: {shlex.join(argv)}; stopping here")
            break
    outputs = await _export(api, cid, spec.outputs, output_dir, log)
    return code, outputs


async def _start_services(
    setup: Setup, *, spec: ContainerSpec, job: str, job_net: str, log: JobLog, made: Made
) -> bool:
    api = setup.api
    ids: list[tuple[ServiceSpec, str]] = []
    for svc in spec.services:
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
        await _put_ca(setup, cid)
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


async def _create_job_container(
    setup: Setup, *, spec: ContainerSpec, job: str, image: str, run_net: str, binds: list[str]
) -> str:
    api = setup.api
    limits: dict[str, Any] = {}
    if spec.limits.cpus:
        limits["nano_cpus"] = int(spec.limits.cpus * 1e9)
    if spec.limits.memory_bytes:
        limits["mem_limit"] = spec.limits.memory_bytes
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
        host_config=api.create_host_config(binds=binds, network_mode=run_net, init=True, **limits),
        networking_config=endpoints(api, run_net, job),
    )
    return str(created["Id"])


async def _put_ca(setup: Setup, cid: str) -> None:
    if setup.ca_bundle:
        data = file_tar(setup.ca_bundle, CA_PATH, mode=0o644)
        with data:
            await call("copy the CA bundle in", setup.api.put_archive, cid, "/", data)


async def _copy_in(setup: Setup, cid: str, spec: ContainerSpec) -> None:
    for d in spec.directories:
        data = await anyio.to_thread.run_sync(directory_tar, d)
        with data:
            await call(f"copy {d.source} to {d.dest}", setup.api.put_archive, cid, "/", data)
    for f in spec.files:
        data = await anyio.to_thread.run_sync(file_tar, f.source, f.dest)
        with data:
            await call(f"copy {f.source} to {f.dest}", setup.api.put_archive, cid, "/", data)
    await _put_ca(setup, cid)


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


def endpoints(api: APIClient, network: str, alias: str) -> Any:
    # The API takes {network: endpoint}; the type stubs only know a single endpoint.
    return api.create_networking_config(cast(Any, {network: api.create_endpoint_config(aliases=[alias])}))


async def quietly(aw: Awaitable[object]) -> None:
    """Cleanup goes on past one failure (already gone, daemon hiccup): gc takes the rest."""
    with contextlib.suppress(SlipwayError):
        await aw
