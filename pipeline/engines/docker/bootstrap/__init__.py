"""Base images without a registry: debootstrap a Debian rootfs, import it, build on it.

Where no registry is reachable (our machines, air-gapped runners) ``python:3.14-slim``
or ``postgres:18`` cannot be pulled. ``bootstrap`` builds look-alikes from a Debian
mirror (the versions are ``pipeline.model.bases.BASES``; the recipes ``recipes.py``
and ``files/``), and pipeline.yaml's aliases map the public names to them.

An image whose recipe label matches what this Slipway would build is reused, so a
warm call takes seconds; one built by another recipe (an older Slipway) is rebuilt.
One bootstrap at a time per machine (a file lock): parallel test sessions that need
the same base wait for it instead of building it twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker

from pipeline.engines.docker.bootstrap import rootfs
from pipeline.engines.docker.bootstrap.building import build_base
from pipeline.engines.docker.bootstrap.recipes import (
    LABEL_BOOTSTRAP,
    LABEL_MIRROR,
    LABEL_RECIPE,
    LABEL_SUITE,
    LABEL_VERSION,
    recipe_for,
)
from pipeline.engines.docker.errors import connect, docker_errors
from pipeline.model.bases import BASES, Base, resolve_base

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Outside any work tree, survives reboots: finished rootfs folders (reused instead of
# debootstrapped again), build logs, the lock.
DEFAULT_WORK_DIR = Path("/var/tmp/slipway")  # noqa: S108

Echo = Callable[[str], None]

__all__ = [
    "DEFAULT_CA_BUNDLE",
    "DEFAULT_MIRROR",
    "DEFAULT_WORK_DIR",
    "LABEL_BOOTSTRAP",
    "BaseStatus",
    "BootstrapStep",
    "bases_for",
    "bootstrap",
    "status",
    "why_build",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BootstrapStep:
    """What bootstrap did for one image: ``built`` or ``reused``, how long, which version."""

    image: str
    action: str
    seconds: float
    version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseStatus:
    """One base as this machine has it: ``built``, ``missing`` or ``outdated`` (present, but
    from another recipe: the next bootstrap rebuilds it)."""

    base: Base
    state: str
    version: str  # exact when built; else the one the suite's index had (Base.seen)

    @property
    def built(self) -> bool:
        return self.state == "built"


def bases_for(names: Sequence[str], aliases: Mapping[str, str] | None = None) -> list[Base]:
    """The bases to build: those ``names`` ask for (any form a user writes; ``UsageError``
    naming the nearest for a version none provides), else those pipeline.yaml's aliases
    point at, else the defaults."""
    if names:
        chosen = [resolve_base(name) for name in names]
    else:
        targets = set((aliases or {}).values())
        chosen = [b for b in BASES if b.tag in targets] or [b for b in BASES if b.default]
    return list(dict.fromkeys(chosen))


def _labels(client: docker.DockerClient, ref: str) -> dict[str, str] | None:
    with docker_errors(f"inspect image {ref}"):
        try:
            info = client.api.inspect_image(ref)  # type: ignore[no-untyped-call]  # untyped in the stubs
        except docker.errors.ImageNotFound:
            return None
    labels = ((info or {}).get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def status(client: docker.DockerClient, bases: Iterable[Base] = BASES) -> list[BaseStatus]:
    """Each base's state on this daemon (one inspect each: instant)."""
    out = []
    for base in bases:
        labels = _labels(client, base.tag)
        if labels is None:
            out.append(BaseStatus(base=base, state="missing", version=base.seen))
            continue
        current = why_build(labels, recipe_for(base).digest(), rebuild=False) is None
        version = labels.get(LABEL_VERSION, "?")
        out.append(BaseStatus(base=base, state="built" if current else "outdated", version=version))
    return out


def why_build(labels: Mapping[str, str] | None, digest: str, *, rebuild: bool) -> str | None:
    """Why the image under a base's tag must be built, or None to reuse it.

    Only the recipe label counts, never the tag alone: an image an older Slipway (or
    anyone) left under ``slipway/postgres:15`` may lack what the current recipe adds
    (a HEALTHCHECK, the entrypoint's fixes), and reusing it by name fails far from here.
    """
    if rebuild:
        return "--rebuild asked"
    if labels is None:
        return "not built yet"
    found = labels.get(LABEL_RECIPE)
    if not found:
        return "present without a recipe label (left by an older Slipway or another tool)"
    if found != digest:
        return f"present, built from another recipe ({found}; this Slipway's is {digest})"
    return None


@contextlib.contextmanager
def _machine_lock(work_dir: Path, echo: Echo) -> Iterator[None]:
    work_dir.mkdir(parents=True, exist_ok=True)
    with (work_dir / "bootstrap.lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"another bootstrap is running on this machine; waiting for it ({work_dir}/bootstrap.lock)")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def bootstrap(
    *,
    bases: Sequence[Base] | None = None,
    mirror: str = DEFAULT_MIRROR,
    security_mirror: str | None = None,
    ca_bundle: Path | None = DEFAULT_CA_BUNDLE,
    work_dir: Path = DEFAULT_WORK_DIR,
    rebuild: bool = False,
    echo: Echo = print,
    client: docker.DockerClient | None = None,
) -> list[BootstrapStep]:
    """Build the ``bases`` (default: the default ones) that are missing or outdated.

    Raises ``EngineUnavailable`` when the daemon is unreachable or debootstrap is
    missing, ``ImageBuildFailed`` when debootstrap or a Dockerfile step fails.
    """
    wanted = list(bases) if bases is not None else [b for b in BASES if b.default]
    security = security_mirror or rootfs.default_security_mirror(mirror)
    client = client or connect()
    steps: list[BootstrapStep] = []
    fresh_rootfs: set[str] = set()
    with _machine_lock(work_dir, echo):
        for base in wanted:
            start = time.monotonic()
            recipe = recipe_for(base)
            labels = _labels(client, base.tag)
            reason = why_build(labels, recipe.digest(), rebuild=rebuild)
            if reason is None:
                version = (labels or {}).get(LABEL_VERSION, "?")
                echo(f"{base.tag} present ({version}), reused")
                steps.append(BootstrapStep(image=base.tag, action="reused", seconds=0.0, version=version))
                continue
            if labels is not None and not rebuild:
                echo(f"{base.tag} {reason}: rebuilding it")
            if base.suite not in fresh_rootfs:
                _ensure_rootfs(client, base.suite, mirror, security, work_dir, rebuild, echo)
                fresh_rootfs.add(base.suite)  # --rebuild: once per suite, not once per image
            echo(f"building {base.tag} (Debian {base.suite}); log: {work_dir / 'logs'}")
            version = build_base(
                client,
                recipe,
                ca_bundle=ca_bundle,
                labels={LABEL_BOOTSTRAP: "base", LABEL_SUITE: base.suite, LABEL_MIRROR: mirror},
                log_dir=work_dir / "logs",
                echo=echo,
                nocache=rebuild,
            )
            seconds = time.monotonic() - start
            echo(f"{base.tag} built ({version}) in {seconds:.0f}s")
            steps.append(BootstrapStep(image=base.tag, action="built", seconds=seconds, version=version))
    return steps


def _ensure_rootfs(
    client: docker.DockerClient,
    suite: str,
    mirror: str,
    security_mirror: str,
    work_dir: Path,
    rebuild: bool,
    echo: Echo,
) -> None:
    """slipway/debian:SUITE of the current recipe: reused, or made (and debootstrapped
    again on --rebuild, so the base system gets the suite's newest packages too)."""
    tag = f"{rootfs.ROOTFS_REPOSITORY}:{suite}"
    digest = rootfs.recipe_digest(suite)
    labels = _labels(client, tag)
    if not rebuild and labels is not None and labels.get(LABEL_RECIPE) == digest:
        echo(f"{tag} present, reused")
        return
    root = work_dir / suite
    if rebuild and root.exists():
        shutil.rmtree(root)
    start = time.monotonic()
    echo(f"building {tag}: debootstrap {suite} from {mirror} into {root}")
    rootfs.debootstrap(suite, root, mirror)
    rootfs.configure(root, suite, mirror, security_mirror)
    rootfs.import_rootfs(
        client,
        root,
        suite,
        {LABEL_BOOTSTRAP: "rootfs", LABEL_RECIPE: digest, LABEL_SUITE: suite, LABEL_MIRROR: mirror},
    )
    echo(f"{tag} imported in {time.monotonic() - start:.0f}s")
