"""``plan --calls`` on the Docker engine: the daemon calls a spec becomes, run nothing."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from pipeline.engines.base import LABEL_RUN
from pipeline.engines.docker import build as docker_build
from pipeline.engines.docker.job import KEEP_ALIVE, cpu_limits
from pipeline.engines.docker.services import describe_readiness
from pipeline.engines.docker.volumes import slug, volume_name
from pipeline.model.aliases import resolve_alias
from pipeline.model.ca import CA_PATH, ca_env
from pipeline.model.spec import ContainerSpec, Image, ImageBuild, Sharing


def describe_image(image: Image, aliases: Mapping[str, str]) -> str:
    if isinstance(image, ImageBuild):
        return f"<{docker_build.describe_build(image)}>"
    target = resolve_alias(image.ref, aliases)
    if target == image.ref:
        return target
    # The alias policy decides at run time (pipeline.model.aliases.choose_image).
    return f"{target} (alias of {image.ref}: used when present locally or {image.ref} cannot be pulled)"


def describe(
    spec: ContainerSpec, *, run_id: str, run_net: str, aliases: Mapping[str, str], ca_bundle: Path | None
) -> list[str]:
    """The calls, one per line, in the order ``run`` makes them (not yet redacted)."""
    job = slug(spec.name)
    out = [f"network create {run_net} (once per run; labels {LABEL_RUN}={run_id})"]
    image = describe_image(spec.image, aliases)
    own = [svc for svc in spec.services if not svc.shared]
    out += _service_lines(spec, run_net=run_net, job=job, aliases=aliases, ca_bundle=ca_bundle)
    if own:
        out.insert(1, f"network create {run_net}-{job} (this job and its services)")
    for cache in spec.caches:
        name = volume_name(cache, run_id, job)
        lock = " (host lock: one writer at a time)" if cache.sharing is Sharing.LOCKED else ""
        out.append(f"volume {name} -> {cache.path} [{cache.sharing.value}]{lock}")
    for d in spec.directories:
        sel = "".join(
            [
                f" include={list(d.include)}" if d.include else "",
                f" exclude={list(d.exclude)}" if d.exclude else "",
            ]
        )
        out.append(
            f"snapshot: put_archive {d.source} -> {d.dest}{sel}; commit (once per run: every job "
            "with the same image and directories starts from it)"
        )
    limits = _limit_flags(spec)
    env = " ".join(f"-e {k}={v}" for k, v in (*(ca_env() if ca_bundle else ()), *spec.env))
    user = f"--user {spec.user} " if spec.user else ""
    out.append(
        f"container create {image} {shlex.join(KEEP_ALIVE)} --network {run_net} "
        f"--network-alias {job} --workdir {spec.workdir} {user}{env} {' '.join(limits)}".strip()
    )
    for svc in spec.services:
        if svc.shared:
            out.append(f"network connect {run_net}-svc-{slug(svc.name)}")
    if own:
        out.append(f"network connect {run_net}-{job}")
    for f in spec.files:
        out.append(f"put_archive {f.source} -> {f.dest}")
    if ca_bundle:
        out.append(f"put_archive {ca_bundle} -> {CA_PATH}")
    out.append("start")
    secret_env = f" (secret env: {', '.join(spec.secrets)})" if spec.secrets else ""
    for argv in spec.commands:
        out.append(f"exec {shlex.join(argv)}{secret_env}")
    for path in spec.outputs:
        out.append(f"get_archive {path} -> <output_dir>{path}")
    out.append("remove container, job services" + (", job network" if own else ""))
    return out


def _service_lines(
    spec: ContainerSpec, *, run_net: str, job: str, aliases: Mapping[str, str], ca_bundle: Path | None
) -> list[str]:
    out = []
    for svc in spec.services:
        net = f"{run_net}-svc-{slug(svc.name)}" if svc.shared else f"{run_net}-{job}"
        env = " ".join(f"-e {k}={v}" for k, v in (*(ca_env() if ca_bundle else ()), *svc.env))
        cmd = shlex.join(svc.command) if svc.command else "(image command)"
        once = " (shared: once per run, on its own network, unless a job started it already)"
        out.append(
            f"service {svc.name}: container create {describe_image(svc.image, aliases)} "
            f"{env} {cmd} --network {net} --network-alias {svc.name}".replace("  ", " ")
            + (once if svc.shared else "")
        )
        if ca_bundle:
            out.append(f"service {svc.name}: put_archive {ca_bundle} -> {CA_PATH}")
        out.append(f"service {svc.name}: start; wait for {describe_readiness(svc)}")
    return out


def _limit_flags(spec: ContainerSpec) -> list[str]:
    limits = []
    if spec.limits.cpus:
        limits.append(f"--cpus {spec.limits.cpus}")
    if spec.limits.cpu_weight:
        limits.append(f"--cpu-shares {cpu_limits(spec)['cpu_shares']}")
    if spec.limits.memory_bytes:
        limits.append(f"--memory {spec.limits.memory_bytes} --memory-swap {spec.limits.memory_bytes}")
    return limits
