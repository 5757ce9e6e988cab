"""A container spec as a lazy Dagger query: pure functions over the global ``dag``.

Nothing here talks to an engine: every function only builds Dagger's lazy query
(``Container``, ``Service``...), which ``engine`` evaluates. Tests and ``plan --calls``
read the same query back (``readback``), so the printed chain is what runs.

The order of calls puts what changes least first (image, CA bundle, env, caches,
services) and the source directories last, so Dagger's cache keeps the early layers
when only the source changed. Then a nonce: Dagger caches every ``with_exec`` by its
inputs, failures included (with ``expect=ANY`` a non-zero exit is a result to its
cache), and a rotated secret does not change a key. A job's commands, a readiness
probe's check, a scan must run each time they are asked to: Slipway's own job cache
decides what is reused, so each of these chains ends in something unique to the call.
Image builds carry none: they keep Dagger's layer cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagger
from dagger import dag

from pipeline.engines.dagger.readiness import probe_command
from pipeline.model.aliases import resolve_alias
from pipeline.model.ca import CA_PATH, ca_env
from pipeline.model.paths import dockerignore
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    Image,
    ImageBuild,
    ImageRef,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)

# The variable that carries the nonce (visible to the command; it means nothing else).
NONCE_VAR = "SLIPWAY_NONCE"

# PRIVATE is emulated (on 0.21 the engine treats it like LOCKED): a volume of its own
# for each call, named with the nonce, as Docker gives each job a fresh volume.
_SHARING = {
    Sharing.SHARED: dagger.CacheSharingMode.SHARED,
    Sharing.LOCKED: dagger.CacheSharingMode.LOCKED,
    Sharing.PRIVATE: dagger.CacheSharingMode.SHARED,
}

# The probe retries the readiness command until it succeeds or time runs out.
# It needs a POSIX shell, `date` and `sleep` in the service's image; the argv
# itself is passed as "$@", never spliced into the script.
_PROBE_SCRIPT = (
    'end=$(( $(date +%s) + {timeout} )); until "$@"; do '
    'if [ "$(date +%s)" -ge "$end" ]; then '
    'echo "service {name} not ready after {timeout}s: $*" >&2; exit 1; fi; '
    "sleep {interval}; done"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """What every chain of a session shares: aliases, the CA bundle, and the images this
    engine built (Dagger keeps them by ID, not by a name ``from_`` could pull)."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None
    built: Mapping[str, dagger.Container] = field(default_factory=dict)
    # Alias targets the engine's docker.io mirror holds (Slipway's engine; see run/engine.py).
    mirrored: frozenset[str] = frozenset()


def host_path(path: Path) -> str:
    # Dagger resolves relative host paths against the session's workdir, which
    # under `dagger run` need not be ours: always hand it absolute paths.
    return str(path.absolute())


def dagger_ref(ref: str, aliases: Mapping[str, str], mirrored: frozenset[str] = frozenset()) -> str:
    """The reference the engine pulls for ``ref``: an alias applies when the engine can
    have its target, else the public name is pulled (an ordinary runner reaches it).

    The engine can have a target that names a registry (``registry.corp/python:3.11``),
    or one the Slipway engine's mirror holds (a local image pushed there under its own
    and its public name: ``provision/mirror.py``). A local Docker image is nothing the
    engine could pull by itself.
    """
    target = resolve_alias(ref, aliases)
    if target == ref:
        return ref
    first, _, rest = target.partition("/")
    names_registry = bool(rest) and ("." in first or ":" in first or first == "localhost")
    return target if names_registry or target in mirrored else ref


def image_container(image: Image, setting: Setting) -> dagger.Container:
    """The starting container: a reference, an image this engine built, or a Dockerfile build."""
    if isinstance(image, ImageRef):
        if image.ref in setting.built:
            return setting.built[image.ref]
        return dag.container().from_(dagger_ref(image.ref, setting.aliases, setting.mirrored))
    return build_container(image)


def build_container(build: ImageBuild) -> dagger.Container:
    """``directory.docker_build`` on the context as Docker would send it: what the
    ``.dockerignore`` excludes is never uploaded. Tags are a Docker engine notion."""
    excludes = list(dockerignore(build.context, build.dockerfile))
    context = dag.host().directory(host_path(build.context), exclude=excludes)
    return context.docker_build(
        dockerfile=build.dockerfile,
        target=build.target or "",
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in build.args],
    )


def with_cache(ctr: dagger.Container, cache: CacheMount, nonce: str) -> dagger.Container:
    name = f"{cache.name}-private-{nonce}" if cache.sharing is Sharing.PRIVATE else cache.name
    return ctr.with_mounted_cache(cache.path, dag.cache_volume(name), sharing=_SHARING[cache.sharing])


def with_ca(ctr: dagger.Container, ca_bundle: Path | None) -> dagger.Container:
    """The CA bundle copied in and named by every variable tools read (jobs and services)."""
    if ca_bundle is None:
        return ctr
    ctr = ctr.with_file(CA_PATH, dag.host().file(host_path(ca_bundle)))
    for var, value in ca_env():
        ctr = ctr.with_env_variable(var, value)
    return ctr


def service_container(svc: ServiceSpec, setting: Setting) -> dagger.Container:
    """The service's container before it becomes a ``Service``; the probe starts from it.

    The image's own HEALTHCHECK decides when Dagger calls a service started, instead of
    its ports: it is dropped unless the spec asks for it, so a TCP or command readiness
    means what it says.
    """
    ctr = image_container(svc.image, setting)
    readiness = svc.readiness
    if readiness is None or readiness.kind is not ReadinessKind.HEALTHCHECK:
        ctr = ctr.without_docker_healthcheck()
    ctr = with_ca(ctr, setting.ca_bundle)
    for key, value in svc.env:
        ctr = ctr.with_env_variable(key, value)
    return ctr


def service(svc: ServiceSpec, setting: Setting, *, owner: str = "") -> dagger.Service:
    """A ``Service``; Dagger health-checks its exposed port before a client may use it.

    ``use_entrypoint`` keeps the image's ENTRYPOINT, as ``docker run`` does: images
    such as postgres initialise the server there and refuse to run as root without it.

    ``owner`` (the job's name) makes each job's service its own instance: Dagger runs
    one instance per identical service in a session, and a job that stops its services
    must not stop another job's. A shared service (``ServiceSpec.shared``) is given no
    owner, so every job of the run that describes the same service binds one instance;
    no job stops it (``services.start_services``), the session's end does.
    """
    ctr = service_container(svc, setting)
    if owner:
        ctr = ctr.with_env_variable("SLIPWAY_SERVICE_OWNER", owner)
    if svc.port is not None:
        ctr = ctr.with_exposed_port(svc.port)
    return ctr.as_service(args=list(svc.command), use_entrypoint=True)


def readiness_probe(
    svc: ServiceSpec, setting: Setting, bound: dagger.Service, nonce: str
) -> tuple[dagger.Container, str | None] | None:
    """A container that retries the service's readiness command until it passes, and
    the note for the log when a loopback host in it was rewritten (``readiness``).

    Dagger cannot exec into a running service, so the command runs in a sibling
    container from the service's own image (it has the client, e.g. ``pg_isready``)
    with the service bound under its name. The nonce keeps Dagger from answering
    "ready" from an earlier run's cache.
    """
    readiness = svc.readiness
    if readiness is None or readiness.kind is not ReadinessKind.COMMAND:
        return None
    command, note = probe_command(readiness.command, svc.name)
    script = _PROBE_SCRIPT.format(
        name=svc.name,
        timeout=max(1, math.ceil(readiness.timeout_s)),
        interval=readiness.interval_s,
    )
    probe = (
        service_container(svc, setting)
        .with_service_binding(svc.name, bound)
        .with_env_variable(NONCE_VAR, nonce)
        .with_exec(["sh", "-c", script, f"probe-{svc.name}", *command])
    )
    return probe, note


@dataclass(frozen=True, slots=True)
class Chain:
    """A spec as Dagger objects: the job container (commands not yet applied) and its services.

    ``services`` keeps the very objects bound into ``container``, so the engine
    can start them explicitly (and stop them) and probe them before the job.
    """

    container: dagger.Container
    services: tuple[tuple[ServiceSpec, dagger.Service], ...]


def job_chain(spec: ContainerSpec, setting: Setting, *, secrets: Mapping[str, str], nonce: str) -> Chain:
    """Everything of the spec but its commands, as one lazy ``Container``, ending in the nonce.

    ``secrets`` maps each name in ``spec.secrets`` to its value (from
    ``pipeline.model.secrets.resolve``); ``describe`` passes placeholders. CPU and
    memory limits have no Dagger counterpart per container and are not applied.
    """
    ctr = with_ca(image_container(spec.image, setting), setting.ca_bundle)
    for key, value in spec.env:
        ctr = ctr.with_env_variable(key, value)
    for cache in spec.caches:
        ctr = with_cache(ctr, cache, nonce)
    bound: list[tuple[ServiceSpec, dagger.Service]] = []
    for svc_spec in spec.services:
        # A shared service has no owner: Dagger runs one instance for identical services
        # in a session, which is the run's one shared instance (as on the Docker engine).
        owner = "" if svc_spec.shared else spec.name
        svc = service(svc_spec, setting, owner=owner)
        bound.append((svc_spec, svc))
        ctr = ctr.with_service_binding(svc_spec.name, svc)
    for mount in spec.directories:
        src = dag.host().directory(
            host_path(mount.source), include=list(mount.include), exclude=list(mount.exclude)
        )
        ctr = ctr.with_directory(mount.dest, src)
    for f in spec.files:
        ctr = ctr.with_file(f.dest, dag.host().file(host_path(f.source)))
    for name in spec.secrets:
        ctr = ctr.with_secret_variable(name, dag.set_secret(name, secrets[name]))
    ctr = ctr.with_workdir(spec.workdir)
    if spec.user is not None:
        ctr = ctr.with_user(spec.user)
    return Chain(container=ctr.with_env_variable(NONCE_VAR, nonce), services=tuple(bound))


def with_command(ctr: dagger.Container, argv: Sequence[str]) -> dagger.Container:
    """One command; ``expect=ANY`` makes a non-zero exit a value to read, not an error."""
    return ctr.with_exec(list(argv), expect=dagger.ReturnType.ANY)


def full_chain(ctr: dagger.Container, commands: Sequence[Sequence[str]]) -> dagger.Container:
    """The container after every command (what ``describe`` shows; ``run`` stops early)."""
    for argv in commands:
        ctr = with_command(ctr, argv)
    return ctr
