"""The Docker engine: runs container specs on a plain Docker Engine, via docker-py.

Every capability of the Engine Protocol: a job (``job.py`` says what a spec
becomes), image builds (``build.py``), image lookups (``images.py``), publish
(``publish.py``), the cache volumes as tar files (``cachevolumes.py``), an
interactive shell for ``reproduce --shell`` and ``plan --calls`` (``describe.py``).
One network per run is created on first use; every job joins it under its name.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import anyio
import docker
from docker import APIClient

from pipeline.engines.base import LABEL_HOST, LABEL_PID, LABEL_RUN, RunContext, RunResult
from pipeline.engines.docker import build as docker_build
from pipeline.engines.docker import cachevolumes, images
from pipeline.engines.docker import describe as describing
from pipeline.engines.docker import job as one_job
from pipeline.engines.docker.errors import call, call_long, connect
from pipeline.engines.docker.publish import push
from pipeline.engines.docker.shared import Shared
from pipeline.engines.docker.volumes import slug
from pipeline.model.errors import EngineJobError, SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.secrets import resolve
from pipeline.model.spec import ContainerSpec, Credentials, ImageBuild
from pipeline.model.timing import PhaseClock

SHELL_KEEP_ALIVE = ("sleep", "86400")
SHELL_START_TIMEOUT_S = 300


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
        # The alias policy, decided once per name for the whole run and said on the console.
        self._images = images.ImageResolver(self._aliases, announce=ctx.announce)
        self._ca_bundle = ca_bundle
        self._client = client
        self._network: str | None = None
        self._network_lock = anyio.Lock()
        self._shared = Shared()  # the run's shared services and source snapshots
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

    async def _setup(self) -> one_job.Setup:
        return one_job.Setup(
            api=await self._api(),
            run_id=self._ctx.run_id,
            labels=self._labels,
            images=self._images,
            ca_bundle=self._ca_bundle,
            shared=self._shared,
        )

    # -- the Protocol ---------------------------------------------------------

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        return await self._run(spec, log_path=log_path, output_dir=output_dir)

    async def _run(
        self,
        spec: ContainerSpec,
        *,
        log_path: Path,
        output_dir: Path,
        on_started: one_job.Started | None = None,
    ) -> RunResult:
        start = time.monotonic()
        secrets = resolve(spec.secrets)
        self._ctx.redactor.add(secrets.values())
        setup = await self._setup()
        made = one_job.Made()
        clock = PhaseClock()
        with JobLog(log_path, self._ctx.redactor) as log:
            async with AsyncExitStack() as held:  # cache locks, released after cleanup
                try:
                    code, outputs, oom = await one_job.run_job(
                        setup,
                        spec=spec,
                        run_net=await self._run_network(setup.api),
                        secrets=secrets,
                        log=log,
                        held=held,
                        made=made,
                        output_dir=output_dir,
                        clock=clock,
                        on_started=on_started,
                    )
                finally:
                    with anyio.CancelScope(shield=True), clock.phase("cleanup"):
                        await one_job.cleanup(setup.api, made)
        return RunResult(
            exit_code=code,
            log_path=log_path,
            duration_s=time.monotonic() - start,
            outputs=outputs,
            phases=dict(clock.phases),
            marks=dict(clock.marks),
            oom_killed=oom,
        )

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        shared = [s for s in spec.services if s.shared]
        if not shared:
            return
        setup = await self._setup()
        with JobLog(log_path, self._ctx.redactor) as log:
            for svc in shared:
                try:
                    await self._shared.service(setup, svc, spec.name, log)
                except SlipwayError as exc:  # the job that needs it says so when it runs
                    log.engine(f"service {svc.name} could not be started ahead of the job: {exc}")

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        api = await self._api()
        with JobLog(log_path, self._ctx.redactor) as log:
            return await call_long(
                "build an image", docker_build.build, api, build, self._images, self._ctx.run_id, log
            )

    async def image_digest(self, ref: str) -> str | None:
        """The local image id of what runs for ``ref`` (the alias policy's choice among the
        images already here), or None when none is here yet: a lookup never pulls."""
        api = await self._api()
        local = await call("inspect an image", self._images.peek, api, ref)
        return None if local is None else await call("inspect an image", images.image_id, api, local)

    async def publish(
        self, built: str, dest: str, *, credentials: Credentials | None, log_path: Path
    ) -> str:
        api = await self._api()
        return await call_long(
            f"push {dest}", push, api, built, dest, credentials, log_path, self._ctx.redactor
        )

    async def cache_volume_empty(self, cache: str) -> bool:
        helper = cachevolumes.VolumeHelper(await self._api(), self._aliases, self._labels)
        return await call("look into a cache volume", helper.is_empty, cache)

    async def export_cache_volume(self, cache: str, dest: Path) -> None:
        helper = cachevolumes.VolumeHelper(await self._api(), self._aliases, self._labels)
        await call_long("export a cache volume", helper.export, cache, dest)

    async def import_cache_volume(self, cache: str, tar: Path) -> None:
        helper = cachevolumes.VolumeHelper(await self._api(), self._aliases, self._labels)
        await call_long("import a cache volume", helper.import_, cache, tar)

    async def shell(
        self,
        spec: ContainerSpec,
        *,
        command: Sequence[str],
        log_path: Path,
        output_dir: Path,
        announce: Callable[[str], None],
    ) -> int:
        """The job's container and services with a keep-alive command, and ``docker exec -it``
        on the user's terminal; everything is removed when the command ends."""
        keep = replace(spec, commands=(SHELL_KEEP_ALIVE,))
        started = anyio.Event()
        container: list[str] = []

        def on_started(cid: str) -> None:
            container.append(cid)
            started.set()

        async def keep_alive() -> None:
            try:
                await self._run(keep, log_path=log_path, output_dir=output_dir, on_started=on_started)
            finally:
                started.set()  # ended before it started: the wait below must not hang

        code = 1
        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_alive)
            with anyio.fail_after(SHELL_START_TIMEOUT_S):
                await started.wait()
            if not container:
                raise EngineJobError(f"the container of {spec.name} did not start; see {log_path}")
            announce(f"shell in {container[0][:12]} (services up); exit the shell to remove everything")
            argv = ["docker", "exec", "-it", "-w", spec.workdir, container[0], *command]
            # The user's terminal is the exec's: a plain subprocess, in a thread.
            code = await anyio.to_thread.run_sync(lambda: subprocess.call(argv))
            tg.cancel_scope.cancel()
        return int(code)

    def describe(self, spec: ContainerSpec) -> list[str]:
        lines = describing.describe(
            spec,
            run_id=self._ctx.run_id,
            run_net=self._network_name(),
            aliases=self._aliases,
            ca_bundle=self._ca_bundle,
        )
        return [self._ctx.redactor(line) for line in lines]

    async def aclose(self) -> None:
        """Remove whatever this process made for the run (a sweep: ``run`` removes its own)."""
        if self._client is None:
            return
        api = self._client.api
        filters = {"label": [f"{k}={v}" for k, v in self._labels.items() if k != LABEL_HOST]}
        with anyio.CancelScope(shield=True):
            await self._shared.aclose(api)
            for c in await call("list containers", api.containers, all=True, filters=filters):
                await one_job.quietly(
                    call("remove a container", api.remove_container, c["Id"], force=True, v=False)
                )
            for n in await call("list networks", api.networks, filters=filters):
                await one_job.quietly(call("remove a network", api.remove_network, n["Id"]))
            vols = (await call("list volumes", api.volumes, filters=filters)).get("Volumes") or []
            for v in vols:
                await one_job.quietly(call("remove a volume", api.remove_volume, v["Name"], force=True))
            self._network = None
            await anyio.to_thread.run_sync(self._client.close)
            self._client = None

    # -- the run's network ------------------------------------------------------

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
