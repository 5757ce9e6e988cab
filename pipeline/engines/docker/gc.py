"""``python -m pipeline gc``: remove what runs that died left on the Docker daemon.

Every container, network and private cache volume a run makes carries the run
id, the creating pid and the host. An object whose pid is no longer alive on
this host is a leftover (a killed run never reached its cleanup). Shared and
locked cache volumes carry no run label, so gc never takes them.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass, field

import docker
import docker.errors

from pipeline.engines.base import LABEL_HOST, LABEL_PID, LABEL_RUN
from pipeline.engines.docker.errors import connect, docker_errors


@dataclass(slots=True)
class GcReport:
    """Names of what was removed (or would be, with ``dry_run``)."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes)

    def lines(self) -> list[str]:
        return (
            [f"container {n}" for n in self.containers]
            + [f"network {n}" for n in self.networks]
            + [f"volume {n}" for n in self.volumes]
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_leftover(labels: dict[str, str], *, all_runs: bool, hostname: str) -> bool:
    """Whether an object labelled with a run belongs to a run that is gone."""
    if all_runs:
        return True
    host = labels.get(LABEL_HOST)
    if host and host != hostname:
        return False  # another machine's run: its pid means nothing here
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return True  # no creator recorded: nobody will clean it up
    return pid != os.getpid() and not pid_alive(pid)


def collect(
    *,
    all_runs: bool = False,
    runs: Collection[str] = (),
    dry_run: bool = False,
    client: docker.DockerClient | None = None,
) -> GcReport:
    """Remove leftovers of dead runs (every run's objects with ``all_runs``).

    ``runs`` limits gc to those run ids; ``dry_run`` only reports.
    """
    client = client or connect()
    api = client.api
    hostname = socket.gethostname()
    report = GcReport()
    flt = {"label": [LABEL_RUN]}

    def gone(labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        if runs and labels.get(LABEL_RUN) not in runs:
            return False
        return is_leftover(labels, all_runs=all_runs, hostname=hostname)

    # Containers first: networks and volumes in use cannot be removed.
    with docker_errors("collect leftovers"):
        for c in api.containers(all=True, filters=flt):
            if gone(c.get("Labels")):
                name = (c.get("Names") or [c["Id"][:12]])[0].lstrip("/")
                if not dry_run:
                    with _already_gone():
                        api.remove_container(c["Id"], force=True)
                report.containers.append(name)
        for n in api.networks(filters=flt):
            if gone(n.get("Labels")):
                if not dry_run:
                    with _already_gone():
                        api.remove_network(n["Id"])
                report.networks.append(n["Name"])
        for v in api.volumes(filters=flt).get("Volumes") or []:
            if gone(v.get("Labels")):
                if not dry_run:
                    with _already_gone():
                        api.remove_volume(v["Name"], force=True)
                report.volumes.append(v["Name"])
    return report


def _already_gone() -> contextlib.suppress:
    # Removed meanwhile (its own run finished its cleanup): nothing to do.
    return contextlib.suppress(docker.errors.NotFound)
