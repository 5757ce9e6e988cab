"""A Dagger engine for runners that reach no image registry, built from Go modules.

In the order things happen (``python -m pipeline engine dagger``):

1. ``gosource``/``gobuild``: the CLI, the engine and its helpers, of the version of the
   pinned dagger-io (``pins``), built with Go through the module proxy and cached under
   ``layout.cache_root()`` (a second build with nothing changed takes no time);
2. ``image``: the engine image on the bootstrapped Debian base (``image/Dockerfile``);
3. ``daemons``: the mirror registry and the forwarders to the runner's loopback;
4. ``container``: the engine container, started (or left running when up to date);
5. ``mirror``: the alias images pushed to the mirror under their public names.

A run then finds the engine by its container (``engines/dagger/connection.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.engines.dagger.provision import container, daemons, gobuild, image, mirror
from pipeline.engines.dagger.provision.layout import CONTAINER, MIRROR_PORT, TCP_PORT, Layout, cache_root
from pipeline.engines.dagger.provision.pins import pins_for
from pipeline.engines.dagger.provision.proc import Emit, ModuleRefused, ProvisionError, Steps

__all__ = ["ModuleRefused", "Options", "ProvisionError", "build", "env_lines", "layout", "start"]

# The runner's registry the bundled example publishes to (pipeline.yaml's localhost:5000).
DEFAULT_FORWARD_PORTS = (5000,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What ``engine dagger`` was asked for."""

    force_build: bool = False
    force_image: bool = False
    force_engine: bool = False
    forward_ports: tuple[int, ...] = DEFAULT_FORWARD_PORTS
    mirror_port: int = MIRROR_PORT
    tcp_port: int | None = TCP_PORT


def layout() -> Layout:
    return Layout(root=cache_root(), version=pins_for().dagger)


def build(emit: Emit, options: Options = Options()) -> Layout:
    """The binaries (cached) and the engine image (rebuilt when its context changes)."""
    steps = Steps(emit)
    pins = pins_for()
    where = Layout(root=cache_root(), version=pins.dagger)
    steps.step(f"Dagger {pins.dagger} binaries (Go modules through the proxy) -> {where.bin}")
    gobuild.build_binaries(steps, where, pins, force=options.force_build)
    steps.step(f"engine image {where.image}")
    image.build_image(steps, where, pins, force=options.force_image or options.force_build)
    return where


def start(emit: Emit, aliases: Mapping[str, str], options: Options = Options()) -> str:
    """Build (cached), then the registry, forwarders and engine container; the engine's version."""
    where = build(emit, options)
    steps = Steps(emit)
    gateway = daemons.bridge_gateway()
    steps.step(f"mirror registry on 127.0.0.1:{options.mirror_port}, forwarded from {gateway}")
    daemons.ensure_mirror_registry(steps, where, options.mirror_port)
    for port in (options.mirror_port, *options.forward_ports):
        daemons.ensure_forwarder(steps, where, gateway, port)
    steps.step(f"engine container {CONTAINER}")
    net = container.Network(
        gateway=gateway,
        mirror_port=options.mirror_port,
        forward_ports=options.forward_ports,
        tcp_port=options.tcp_port,
    )
    container.start_container(steps, where, net, force=options.force_engine)
    steps.step("base images in the mirror (aliases under their public names)")
    state = mirror.ensure_mirrored(steps, options.mirror_port, mirror.mirror_pairs(aliases))
    steps.info(f"pushed: {', '.join(state.pushed)}" if state.pushed else "all present")
    version = container.wait_until_answers(steps, where)
    steps.step("done")
    return version


def env_lines(where: Layout, tcp_port: int | None = None) -> list[str]:
    """Shell lines that point the CLI and the SDK at this engine (for `dagger run`)."""
    runner = f"docker-container://{CONTAINER}"
    lines = [
        f"export _EXPERIMENTAL_DAGGER_RUNNER_HOST={runner}",
        f"export _EXPERIMENTAL_DAGGER_CLI_BIN={where.cli}",
        f"export PATH={where.bin}:$PATH",
        *(f"export {k}={v}" for k, v in container.QUIET_ENV.items() if k != "NO_COLOR"),
    ]
    if tcp_port:
        lines.append(f"# or, as a remote engine would be reached: tcp://127.0.0.1:{tcp_port}")
    return lines
