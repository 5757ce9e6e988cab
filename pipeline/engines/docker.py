"""The Docker engine: runs container specs on a plain Docker Engine, via docker-py.

What a spec becomes, in order (``describe`` prints the same list):
one network per run (created on first use, every job joins it under its own
name); for a job with services, a job network on which each service answers to
its own name (so two jobs may both have a ``postgres``); cache volumes; the job
container (kept alive by ``sleep``), with directories, files and the CA bundle
copied in as tar streams; each command exec'd in turn, its output streamed to
the log; outputs exported; then everything the job made is removed, also on
failure and cancellation.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import time
import uuid
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import anyio
import docker
import docker.errors
from docker import APIClient

from pipeline.engines import docker_build, docker_cache
from pipeline.engines.base import LABEL_JOB, LABEL_PID, LABEL_RUN, RunContext, RunResult
from pipeline.engines.docker_errors import (
    call,
    call_long,
    close_stream,
    connect,
)
from pipeline.engines.docker_services import describe_readiness, wait_ready
from pipeline.engines.docker_tar import directory_tar, extract_output, file_tar
from pipeline.engines.docker_volumes import LABEL_CACHE, host_lock, slug, volume_name
from pipeline.images import resolve_alias
from pipeline.model.errors import ImageBuildFailed, SlipwayError
from pipeline.model.joblog import JobLog, LineSplitter
from pipeline.model.secrets import resolve
from pipeline.model.spec import ContainerSpec, Image, ImageBuild, ServiceSpec, Sharing

# Which machine made an object: a pid is only meaningful there (gc).
LABEL_HOST = "dev.slipway.host"
LABEL_SERVICE = "dev.slipway.service"

# Where the CA bundle lands in every container, and the variables that name it.
CA_PATH = "/usr/local/share/slipway/ca-bundle.crt"
CA_ENV_VARS = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)
# sleep, not the image's command: the job's commands are exec'd one by one.
KEEP_ALIVE = ["sleep", "2147483647"]
# The result of a job whose services never got ready (docker run's own code for
# "could not start"): no command ran.
EXIT_SERVICE_NOT_READY = 125
EXIT_BUILD_FAILED = 125


class DockerEngine:
    """Runs ``ContainerSpec``s on the Docker daemon that DOCKER_HOST names."""

    name = "docker"

    def __init__(
        self,
        ctx: RunContext,
        *,
        aliases: Mapping[str, str] | None = None,
        ca_bundle: Path | None = None,
        client: docker.DockerClient | None = None,
    ) -> None:
        self._ctx = ctx
        self._aliases = dict(aliases or {})
        self._ca_bundle = ca_bundle
        self._client = client
        self._network: str | None = None
        self._network_lock = anyio.Lock()
        self._connect_lock = anyio.Lock()
        self._labels = {
            LABEL_RUN: ctx.run_id,
            LABEL_PID: str(os.getpid()),
            LABEL_HOST: socket.gethostname(),
        }

    # -- connection -------------------------------------------------------

    async def _api(self) -> APIClient:
        async with self._connect_lock:  # concurrent first jobs share one client
            if self._client is None:
                self._client = await anyio.to_thread.run_sync(connect)
            return self._client.api

    # -- the Protocol ---------------------------------------------------------

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        start = time.monotonic()
        secrets = resolve(spec.secrets)
        self._ctx.redactor.add(secrets.values())
        api = await self._api()
        job = slug(spec.name)
        made = _Made()
        with JobLog(log_path, self._ctx.redactor) as log:
            async with AsyncExitStack() as held:  # cache locks, released after cleanup
                try:
                    code, outputs = await self._run(
                        api,
                        spec=spec,
                        job=job,
                        secrets=secrets,
                        log=log,
                        held=held,
                        made=made,
                        output_dir=output_dir,
                    )
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._cleanup(api, made)
        return RunResult(
            exit_code=code,
            log_path=log_path,
            duration_s=time.monotonic() - start,
            outputs=outputs,
        )

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        api = await self._api()
        with JobLog(log_path, self._ctx.redactor) as log:
            return await call_long(
                "build an image",
                docker_build.build,
                api,
                build,
                self._aliases,
                self._ctx.run_id,
                log,
            )

    def describe(self, spec: ContainerSpec) -> list[str]:
        job = slug(spec.name)
        run_net = self._network_name()
        out = [f"network create {run_net} (once per run; labels {LABEL_RUN}={self._ctx.run_id})"]
        image = self._describe_image(spec.image)
        if spec.services:
            out.append(f"network create {run_net}-{job} (this job and its services)")
        for svc in spec.services:
            env = " ".join(f"-e {k}={v}" for k, v in svc.env)
            cmd = shlex.join(svc.command) if svc.command else "(image command)"
            out.append(
                f"service {svc.name}: container create {self._describe_image(svc.image)} "
                f"{env} {cmd} --network {run_net}-{job} --network-alias {svc.name}".replace("  ", " ")
            )
            if self._ca_bundle:
                out.append(f"service {svc.name}: put_archive {self._ca_bundle} -> {CA_PATH}")
            out.append(f"service {svc.name}: start; wait for {describe_readiness(svc)}")
        for cache in spec.caches:
            name = volume_name(cache, self._ctx.run_id, job)
            lock = " (host lock: one writer at a time)" if cache.sharing is Sharing.LOCKED else ""
            out.append(f"volume {name} -> {cache.path} [{cache.sharing.value}]{lock}")
        limits = []
        if spec.limits.cpus:
            limits.append(f"--cpus {spec.limits.cpus}")
        if spec.limits.memory_bytes:
            limits.append(f"--memory {spec.limits.memory_bytes}")
        env = " ".join(f"-e {k}={v}" for k, v in self._container_env(spec))
        user = f"--user {spec.user} " if spec.user else ""
        out.append(
            f"container create {image} {shlex.join(KEEP_ALIVE)} --network {run_net} "
            f"--network-alias {job} --workdir {spec.workdir} {user}{env} {' '.join(limits)}".strip()
        )
        if spec.services:
            out.append(f"network connect {run_net}-{job}")
        for d in spec.directories:
            sel = "".join(
                [
                    f" include={list(d.include)}" if d.include else "",
                    f" exclude={list(d.exclude)}" if d.exclude else "",
                ]
            )
            out.append(f"put_archive {d.source} -> {d.dest}{sel}")
        for f in spec.files:
            out.append(f"put_archive {f.source} -> {f.dest}")
        if self._ca_bundle:
            out.append(f"put_archive {self._ca_bundle} -> {CA_PATH}")
        out.append("start")
        secret_env = f" (secret env: {', '.join(spec.secrets)})" if spec.secrets else ""
        for argv in spec.commands:
            out.append(f"exec {shlex.join(argv)}{secret_env}")
        for path in spec.outputs:
            out.append(f"get_archive {path} -> <output_dir>{path}")
        out.append("remove container, services" + (", job network" if spec.services else ""))
        return [self._ctx.redactor(line) for line in out]

    async def aclose(self) -> None:
        """Remove whatever this process made for the run (a sweep: ``run`` removes its own)."""
        if self._client is None:
            return
        api = self._client.api
        filters = {"label": [f"{k}={v}" for k, v in self._labels.items() if k != LABEL_HOST]}
        with anyio.CancelScope(shield=True):
            for c in await call("list containers", api.containers, all=True, filters=filters):
                await _quietly(call("remove a container", api.remove_container, c["Id"], force=True, v=False))
            for n in await call("list networks", api.networks, filters=filters):
                await _quietly(call("remove a network", api.remove_network, n["Id"]))
            vols = (await call("list volumes", api.volumes, filters=filters)).get("Volumes") or []
            for v in vols:
                await _quietly(call("remove a volume", api.remove_volume, v["Name"], force=True))
            self._network = None
            await anyio.to_thread.run_sync(self._client.close)
            self._client = None

    # -- for the cache (optional methods: pipeline/cache uses them when present) --

    async def image_digest(self, ref: str) -> str | None:
        """The local image id of ``ref`` (after aliases), or None when it is not here yet."""
        api = await self._api()
        return await call("inspect an image", docker_cache.image_id, api, resolve_alias(ref, self._aliases))

    async def cache_volume_empty(self, cache: str) -> bool:
        """True if the shared cache volume ``cache`` is missing or empty."""
        helper = docker_cache.VolumeHelper(await self._api(), self._aliases, self._labels)
        return await call("look into a cache volume", helper.is_empty, cache)

    async def export_cache_volume(self, cache: str, dest: Path) -> None:
        """Write the shared cache volume's content to ``dest`` as a tar."""
        helper = docker_cache.VolumeHelper(await self._api(), self._aliases, self._labels)
        await call_long("export a cache volume", helper.export, cache, dest)

    async def import_cache_volume(self, cache: str, tar: Path) -> None:
        """Unpack a tar made by ``export_cache_volume`` into the shared cache volume."""
        helper = docker_cache.VolumeHelper(await self._api(), self._aliases, self._labels)
        await call_long("import a cache volume", helper.import_, cache, tar)

    # -- one job ------------------------------------------------------------

    async def _run(
        self,
        api: APIClient,
        *,
        spec: ContainerSpec,
        job: str,
        secrets: dict[str, str],
        log: JobLog,
        held: AsyncExitStack,
        made: _Made,
        output_dir: Path,
    ) -> tuple[int, dict[str, Path]]:
        try:
            image = await self._image(api, spec.image, log)
        except ImageBuildFailed as exc:
            log.engine(str(exc))
            return EXIT_BUILD_FAILED, {}
        run_net = await self._run_network(api)
        job_net = None
        if spec.services:
            job_net = f"{run_net}-{job}-{uuid.uuid4().hex[:6]}"
            await call(
                "create a network",
                api.create_network,
                job_net,
                driver="bridge",
                labels=self._job_labels(spec.name),
                check_duplicate=True,
            )
            made.networks.append(job_net)
            try:
                ready = await self._start_services(
                    api, spec=spec, job=job, job_net=job_net, log=log, made=made
                )
            except ImageBuildFailed as exc:
                log.engine(str(exc))
                return EXIT_BUILD_FAILED, {}
            if not ready:
                log.engine("not running the job's commands: a service is not ready")
                return EXIT_SERVICE_NOT_READY, {}
        binds = await self._cache_volumes(api, spec, job, held, made)
        cid = await self._create_job_container(
            api, spec=spec, job=job, image=image, run_net=run_net, binds=binds
        )
        made.containers.append(cid)
        if job_net:
            await call("connect the job to its network", api.connect_container_to_network, cid, job_net)
        await self._copy_in(api, cid, spec)
        await call("start the job container", api.start, cid)
        code = 0
        for argv in spec.commands:
            code = await self._exec(api, cid=cid, spec=spec, argv=argv, secrets=secrets, log=log)
            if code != 0:
                log.engine(f"command exited {code}: {shlex.join(argv)}; stopping here")
                break
        outputs = await self._export(api, cid, spec.outputs, output_dir, log)
        return code, outputs

    async def _image(self, api: APIClient, image: Image, log: JobLog) -> str:
        if isinstance(image, ImageBuild):
            return await call_long(
                "build an image", docker_build.build, api, image, self._aliases, self._ctx.run_id, log
            )
        return await call("find an image", docker_build.ensure_image, api, image.ref, self._aliases, log)

    def _network_name(self) -> str:
        return f"slipway-{slug(self._ctx.run_id)}"

    async def _run_network(self, api: APIClient) -> str:
        """The run's network, created by the first job that needs it."""
        async with self._network_lock:
            if self._network is None:
                name = self._network_name()
                existing = await call("list networks", api.networks, names=[name])
                if not any(n["Name"] == name for n in existing):
                    await call(
                        "create the run's network",
                        api.create_network,
                        name,
                        driver="bridge",
                        labels=dict(self._labels),
                        check_duplicate=True,
                    )
                self._network = name
            return self._network

    def _job_labels(self, job_name: str, **extra: str) -> dict[str, str]:
        return {**self._labels, LABEL_JOB: job_name, **extra}

    def _ca_env(self) -> list[tuple[str, str]]:
        return [(var, CA_PATH) for var in CA_ENV_VARS] if self._ca_bundle else []

    def _container_env(self, spec: ContainerSpec) -> list[tuple[str, str]]:
        return [*self._ca_env(), *spec.env]

    async def _start_services(
        self,
        api: APIClient,
        *,
        spec: ContainerSpec,
        job: str,
        job_net: str,
        log: JobLog,
        made: _Made,
    ) -> bool:
        ids: list[tuple[ServiceSpec, str]] = []
        for svc in spec.services:
            image = await self._image(api, svc.image, log)
            env = dict([*self._ca_env(), *svc.env])
            cid = (
                await call(
                    f"create service {svc.name}",
                    api.create_container,
                    image,
                    command=list(svc.command) or None,
                    environment=env,
                    name=f"slipway-{slug(self._ctx.run_id)}-{job}-{slug(svc.name)}-{uuid.uuid4().hex[:6]}",
                    labels=self._job_labels(spec.name, **{LABEL_SERVICE: svc.name}),
                    host_config=api.create_host_config(network_mode=job_net, init=True),
                    networking_config=_endpoints(api, job_net, svc.name),
                )
            )["Id"]
            made.containers.append(cid)
            await self._put_ca(api, cid)
            await call(f"start service {svc.name}", api.start, cid)
            log.engine(f"service {svc.name} started from {image}")
            ids.append((svc, cid))
        results: dict[str, bool] = {}

        async def wait(svc: ServiceSpec, cid: str) -> None:
            results[svc.name] = await wait_ready(api, cid, svc, job_net, log)

        async with anyio.create_task_group() as tg:
            for svc, cid in ids:
                tg.start_soon(wait, svc, cid)
        return all(results.values())

    async def _cache_volumes(
        self, api: APIClient, spec: ContainerSpec, job: str, held: AsyncExitStack, made: _Made
    ) -> list[str]:
        binds = []
        for cache in spec.caches:
            name = volume_name(cache, self._ctx.run_id, job)
            if cache.sharing is Sharing.PRIVATE:
                labels = self._job_labels(spec.name, **{LABEL_CACHE: cache.name})
                made.volumes.append(name)
            else:
                labels = {LABEL_CACHE: cache.name}
            await call("create a cache volume", api.create_volume, name, labels=labels)
            if cache.sharing is Sharing.LOCKED:
                await held.enter_async_context(host_lock(name))
            binds.append(f"{name}:{cache.path}:rw")
        return binds

    async def _create_job_container(
        self,
        api: APIClient,
        *,
        spec: ContainerSpec,
        job: str,
        image: str,
        run_net: str,
        binds: list[str],
    ) -> str:
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
            environment=dict(self._container_env(spec)),
            working_dir=spec.workdir,
            user=spec.user or "",
            name=f"slipway-{slug(self._ctx.run_id)}-{job}-{uuid.uuid4().hex[:6]}",
            labels=self._job_labels(spec.name),
            host_config=api.create_host_config(binds=binds, network_mode=run_net, init=True, **limits),
            networking_config=_endpoints(api, run_net, job),
        )
        return str(created["Id"])

    async def _put_ca(self, api: APIClient, cid: str) -> None:
        if self._ca_bundle:
            data = file_tar(self._ca_bundle, CA_PATH, mode=0o644)
            with data:
                await call("copy the CA bundle in", api.put_archive, cid, "/", data)

    async def _copy_in(self, api: APIClient, cid: str, spec: ContainerSpec) -> None:
        for d in spec.directories:
            data = await anyio.to_thread.run_sync(directory_tar, d)
            with data:
                await call(f"copy {d.source} to {d.dest}", api.put_archive, cid, "/", data)
        for f in spec.files:
            data = await anyio.to_thread.run_sync(file_tar, f.source, f.dest)
            with data:
                await call(f"copy {f.source} to {f.dest}", api.put_archive, cid, "/", data)
        await self._put_ca(api, cid)

    async def _exec(
        self,
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
            exec_id = api.exec_create(
                cid,
                list(argv),
                environment=secrets or None,
                workdir=spec.workdir,
                user=spec.user or "",
                stdout=True,
                stderr=True,
            )["Id"]
            lines = LineSplitter(log)
            output = api.exec_start(exec_id, stream=True)
            try:
                for chunk in output:
                    lines.feed(chunk)
            finally:
                close_stream(output)
            lines.flush()
            # The exit code is set when the process is reaped, just after the stream ends.
            for _ in range(100):
                info = api.exec_inspect(exec_id)
                if not info.get("Running"):
                    break
                time.sleep(0.05)
            code = info.get("ExitCode")
            return int(code) if code is not None else 1

        return await call_long(f"run {argv[0]}", stream)

    async def _export(
        self, api: APIClient, cid: str, paths: tuple[str, ...], output_dir: Path, log: JobLog
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

    async def _cleanup(self, api: APIClient, made: _Made) -> None:
        # Containers first: a network or volume in use cannot be removed.
        for cid in reversed(made.containers):
            await _quietly(call("remove a container", api.remove_container, cid, force=True))
        for net in made.networks:
            await _quietly(call("remove a network", api.remove_network, net))
        for vol in made.volumes:
            await _quietly(call("remove a volume", api.remove_volume, vol, force=True))

    def _describe_image(self, image: Image) -> str:
        if isinstance(image, ImageBuild):
            return f"<{docker_build.describe_build(image)}>"
        target = resolve_alias(image.ref, self._aliases)
        return target if target == image.ref else f"{target} (alias of {image.ref})"


def _endpoints(api: APIClient, network: str, alias: str) -> Any:
    # The API takes {network: endpoint}; the type stubs only know a single endpoint.
    return api.create_networking_config(cast(Any, {network: api.create_endpoint_config(aliases=[alias])}))


class _Made:
    """What one job created, so its cleanup removes exactly that."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []


async def _quietly(aw: Awaitable[object]) -> None:
    """Cleanup goes on past one failure (already gone, daemon hiccup): gc takes the rest."""
    with contextlib.suppress(SlipwayError):
        await aw
