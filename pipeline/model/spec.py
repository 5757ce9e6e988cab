"""The container spec: the immutable contract between stages and engines.

It mirrors Dagger's own objects (Container, Directory, CacheVolume, Service,
Secret) so the Dagger engine maps it one to one, and the Docker engine
reproduces the same meaning with containers, volumes and a network.
Secrets are carried by name only; their values are read by the engine at
run time from the environment and never enter a spec, a log or a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath


class SpecError(ValueError):
    """A spec that cannot describe a valid container (a bug in a stage, not user input)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRef:
    """An image by reference, e.g. ``python:3.12-slim`` (after alias resolution)."""

    ref: str

    def __post_init__(self) -> None:
        if not self.ref or any(c.isspace() for c in self.ref):
            raise SpecError(f"image reference {self.ref!r} is empty or has spaces")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBuild:
    """An image built from a Dockerfile (Dagger: ``directory.docker_build``)."""

    context: Path
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    # Tags given to the result (Docker engine); Dagger images are addressed by digest.
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line in `docker build` terms, for `plan --calls` and logs."""
        parts = [f"build {self.context} -f {self.dockerfile}"]
        if self.target:
            parts.append(f"--target {self.target}")
        parts += [f"--build-arg {k}={v}" for k, v in self.args]
        parts += [f"-t {t}" for t in self.tags]
        return " ".join(parts)


Image = ImageRef | ImageBuild


class Sharing(StrEnum):
    """Cache volume sharing modes, as Dagger's ``CacheSharingMode``."""

    SHARED = "shared"  # many writers at once
    LOCKED = "locked"  # one writer at a time
    PRIVATE = "private"  # one volume per container


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryMount:
    """A host directory copied (not bind-mounted) into the container."""

    source: Path
    dest: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not PurePosixPath(self.dest).is_absolute():
            raise SpecError(f"directory destination {self.dest!r} must be an absolute path")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileMount:
    """A single host file copied into the container (a CA bundle, a plugin)."""

    source: Path
    dest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheMount:
    """A named cache volume mounted at ``path`` (pip, uv, npm caches...)."""

    name: str
    path: str
    sharing: Sharing = Sharing.SHARED


class ReadinessKind(StrEnum):
    COMMAND = "command"
    TCP = "tcp"
    HEALTHCHECK = "healthcheck"  # the image's own HEALTHCHECK


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """How to tell that a service is ready to take requests."""

    kind: ReadinessKind = ReadinessKind.TCP
    command: tuple[str, ...] = ()
    timeout_s: float = 60.0
    interval_s: float = 0.5

    def __post_init__(self) -> None:
        if self.kind is ReadinessKind.COMMAND and not self.command:
            raise SpecError("a command readiness check needs a command")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """A service container reachable by ``name`` from the job container."""

    name: str
    image: Image
    env: tuple[tuple[str, str], ...] = ()
    port: int | None = None
    command: tuple[str, ...] = ()
    readiness: Readiness | None = None
    # One instance for the whole run, joined by every job that names the same service
    # (same definition): for services the jobs cannot disturb each other through, such
    # as a PostgreSQL server where each job has databases of its own. Dagger dedupes
    # identical services by itself; the Docker engine starts it once, on first need.
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """CPU and memory limits; Dagger has none per container, Docker applies them.

    ``cpus`` is a hard cap for the container's whole life. ``cpu_weight`` is a relative
    share that only matters while containers compete (Docker's ``cpu_shares``, 1.0 =
    1024): a core another container leaves idle goes to whoever can use it, so a
    weight never outlives the work it was sized for.
    """

    cpus: float | None = None
    memory_bytes: int | None = None
    cpu_weight: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerSpec:
    """Everything an engine needs to run one job's container."""

    name: str
    image: Image
    commands: tuple[tuple[str, ...], ...]
    directories: tuple[DirectoryMount, ...] = ()
    files: tuple[FileMount, ...] = ()
    caches: tuple[CacheMount, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()  # names; value from the environment at run time
    workdir: str = "/"
    user: str | None = None
    outputs: tuple[str, ...] = ()  # container paths exported after the run, also on failure
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.commands:
            raise SpecError(f"spec {self.name!r} has no command")
        for argv in self.commands:
            if not argv or not all(isinstance(a, str) for a in argv):
                raise SpecError(f"spec {self.name!r}: every command is a non-empty argv list")
        names = [s.name for s in self.services]
        if len(names) != len(set(names)):
            raise SpecError(f"spec {self.name!r}: service names repeat: {names}")
        for out in self.outputs:
            if not PurePosixPath(out).is_absolute():
                raise SpecError(f"spec {self.name!r}: output {out!r} must be an absolute path")
        env_names = {k for k, _ in self.env}
        clash = env_names.intersection(self.secrets)
        if clash:
            raise SpecError(f"spec {self.name!r}: {sorted(clash)} is both env and secret")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Registry credentials for a push; the password never shows in a repr or a log."""

    username: str
    password: str

    def __repr__(self) -> str:  # a stray print or log of the object shows no password
        return f"Credentials(username={self.username!r}, password='***')"
