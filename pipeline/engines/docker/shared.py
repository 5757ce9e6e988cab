"""What the jobs of one run share on the Docker engine: shared services and source snapshots.

- A *shared service* (``ServiceSpec.shared``) is started once per run, on a network of
  its own where it answers to its name; every job that needs it joins that network.
  The first job to ask starts it (or ``prepare_services`` does, ahead of the job);
  the others wait for that one start. It lives until the run's ``aclose``.
- A *source snapshot* is the job image with the spec's directories copied in, committed
  once per run as an image: every job with the same image and directories starts from
  it (copy-on-write, so a job still cannot change what another sees) instead of
  streaming the same tar into each container.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Generic, TypeVar

import anyio
from docker import APIClient

from pipeline.engines.base import LABEL_SERVICE
from pipeline.engines.docker.errors import call
from pipeline.engines.docker.services import wait_ready
from pipeline.engines.docker.setup import Setup, endpoints, put_ca, quietly, resolve_image
from pipeline.engines.docker.tar import directory_tar
from pipeline.engines.docker.volumes import slug
from pipeline.model.joblog import JobLog
from pipeline.model.spec import DirectoryMount, ServiceSpec

SNAPSHOT_REPO = "slipway-snapshot"
T = TypeVar("T")


class OncePerKey(Generic[T]):
    """Each key's value made once; a make that raises is tried again by the next caller."""

    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}
        self._values: dict[str, T] = {}

    async def get(self, key: str, make: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """(the value, whether this call made it)."""
        async with self._locks.setdefault(key, anyio.Lock()):
            if key in self._values:
                return self._values[key], False
            value = await make()
            self._values[key] = value
            return value, True


@dataclass(frozen=True, slots=True)
class SharedService:
    """A started shared service: where it answers, and whether it got ready."""

    name: str
    network: str
    container: str
    ready: bool
    started_by: str
    ready_after_s: float


def service_key(svc: ServiceSpec) -> str:
    """Two jobs share a service only when they describe exactly the same one."""
    text = json.dumps(asdict(svc), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def snapshot_key(image: str, directories: tuple[DirectoryMount, ...]) -> str:
    text = json.dumps([image, [asdict(d) for d in directories]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(slots=True)
class Shared:
    """The run's shared services and snapshots, and what to remove when the run ends."""

    services: OncePerKey[SharedService] = field(default_factory=OncePerKey)
    snapshots: OncePerKey[str] = field(default_factory=OncePerKey)
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    async def service(self, setup: Setup, svc: ServiceSpec, job: str, log: JobLog) -> SharedService:
        """The run's instance of ``svc``, started (and waited for) by the first job asking."""
        got, made = await self.services.get(service_key(svc), lambda: self._start(setup, svc, job, log))
        if not made:
            state = "ready" if got.ready else "NOT ready (see the log of that job)"
            log.engine(f"service {svc.name}: shared by the run, started by {got.started_by}, {state}")
        return got

    async def _start(self, setup: Setup, svc: ServiceSpec, job: str, log: JobLog) -> SharedService:
        api = setup.api
        start = time.monotonic()
        ref = await resolve_image(setup, svc.image, log)
        net = f"slipway-{slug(setup.run_id)}-svc-{slug(svc.name)}-{service_key(svc)[:6]}"
        await call(
            "create a network", api.create_network, net, driver="bridge",
            labels=dict(setup.labels), check_duplicate=True,
        )
        self.networks.append(net)
        cid = (
            await call(
                f"create service {svc.name}",
                api.create_container,
                ref,
                command=list(svc.command) or None,
                environment=dict([*setup.ca_env(), *svc.env]),
                name=f"slipway-{slug(setup.run_id)}-shared-{slug(svc.name)}-{uuid.uuid4().hex[:6]}",
                labels={**setup.labels, LABEL_SERVICE: svc.name},
                host_config=api.create_host_config(network_mode=net, init=True),
                networking_config=endpoints(api, net, svc.name),
            )
        )["Id"]
        self.containers.append(cid)
        await put_ca(setup, cid)
        await call(f"start service {svc.name}", api.start, cid)
        log.engine(f"service {svc.name} started from {ref}, shared by every job of the run that needs it")
        ready = await wait_ready(api, cid, svc, net, log)
        return SharedService(
            name=svc.name, network=net, container=cid, ready=ready, started_by=job,
            ready_after_s=round(time.monotonic() - start, 2),
        )

    async def snapshot(
        self, setup: Setup, image: str, directories: tuple[DirectoryMount, ...], log: JobLog
    ) -> str:
        """An image: ``image`` with ``directories`` copied in, made once per run."""
        key = snapshot_key(image, directories)
        got, made = await self.snapshots.get(key, lambda: self._commit(setup, image, directories, key))
        log.engine(("copied " if made else "reusing the run's copy of ") + ", ".join(
            f"{d.source} -> {d.dest}" for d in directories) + f" (snapshot {got[:19]})")
        return got

    async def _commit(
        self, setup: Setup, image: str, directories: tuple[DirectoryMount, ...], key: str
    ) -> str:
        api = setup.api
        cid = (
            await call(
                "create a snapshot container", api.create_container, image,
                command=["true"], labels=dict(setup.labels),
                name=f"slipway-{slug(setup.run_id)}-snapshot-{key[:6]}-{uuid.uuid4().hex[:4]}",
            )
        )["Id"]
        try:
            for d in directories:
                data = await anyio.to_thread.run_sync(directory_tar, d)
                with data:
                    await call(f"copy {d.source} to {d.dest}", api.put_archive, cid, "/", data)
            committed = await call(
                "commit the source snapshot", api.commit, cid,
                repository=SNAPSHOT_REPO, tag=f"{slug(setup.run_id)}-{key}",
                conf={"Labels": dict(setup.labels)},
            )
        finally:
            await quietly(call("remove a container", api.remove_container, cid, force=True))
        image_id = str(committed["Id"])
        self.images.append(image_id)
        return image_id

    async def aclose(self, api: APIClient) -> None:
        """Remove what the run shared (the engine's sweep by label takes any rest)."""
        for cid in reversed(self.containers):
            await quietly(call("remove a shared service", api.remove_container, cid, force=True))
        for net in self.networks:
            await quietly(call("remove a network", api.remove_network, net))
        for image in self.images:
            await quietly(call("remove a snapshot image", api.remove_image, image, force=True))
        self.containers.clear()
        self.networks.clear()
        self.images.clear()
