"""``python -m pipeline engine dagger``: a Dagger engine for runners that reach no registry.

Builds the CLI and engine of the pinned dagger-io's version from Go modules (through
the module proxy; cached, so a second call takes seconds), packages the engine image,
starts its mirror registry, forwarders and container, and prints the lines that point
the CLI and SDK at it (a run finds it by itself; ``dagger run`` needs the exports).
Progress goes to stderr, the exports to stdout: ``eval "$(... engine dagger --env)"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.commands.options import ConfigOpt, optional_config, out, say
from pipeline.engines.dagger import provision
from pipeline.engines.dagger.provision.layout import TCP_PORT
from pipeline.engines.dagger.provision.status import status
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.errors import EXIT_FAILED, EXIT_OK

app = typer.Typer(help="Engines Slipway can build and start itself.")


@app.command("dagger")
def dagger(
    config: ConfigOpt = Path("pipeline.yaml"),
    build: Annotated[bool, typer.Option("--build", help="Only build the binaries and the image.")] = False,
    start: Annotated[bool, typer.Option("--start", help="Build (cached) and start (the default).")] = False,
    show_status: Annotated[bool, typer.Option("--status", help="Show what is there.")] = False,
    env: Annotated[bool, typer.Option("--env", help="Print the exports for `dagger run` (stdout).")] = False,
    force_build: Annotated[bool, typer.Option("--force-build", help="Rebuild the binaries.")] = False,
    force_image: Annotated[bool, typer.Option("--force-image", help="Rebuild the engine image.")] = False,
    force_engine: Annotated[bool, typer.Option("--force-engine", help="Recreate the container.")] = False,
    forward_port: Annotated[
        list[int] | None,
        typer.Option(
            "--forward-port",
            help="A port the runner serves on 127.0.0.1 (its registry) that the engine reaches "
            "as localhost:PORT too (default: 5000).",
        ),
    ] = None,
    no_tcp: Annotated[bool, typer.Option("--no-tcp", help=f"No tcp://:{TCP_PORT} listener.")] = False,
) -> None:
    """Build and start Slipway's Dagger engine (from Go modules), or show its status."""
    if show_status:
        raise typer.Exit(print_status())
    options = provision.Options(
        force_build=force_build,
        force_image=force_image,
        force_engine=force_engine,
        forward_ports=tuple(forward_port) if forward_port else provision.DEFAULT_FORWARD_PORTS,
        tcp_port=None if no_tcp else TCP_PORT,
    )
    if build and not start:
        where = provision.build(say, options)
        say(f"built: {where.bin} and {where.image}")
        return
    cfg = optional_config(config)
    aliases = dict(cfg.model.images.aliases) if cfg is not None else dict(DEFAULT_ALIASES)
    version = provision.start(say, aliases, options)
    lines = provision.env_lines(provision.layout(), options.tcp_port)
    if env:
        for line in lines:
            out.print(line, markup=False)
        return
    say(f"engine {version} is running; `python -m pipeline run` finds it. For `dagger run`:")
    for line in lines:
        say("    " + line)


def print_status() -> int:
    style = {"ok": "green", "warn": "yellow", "fail": "red"}
    lines = status()
    for name, level, detail in lines:
        out.print(f"[{style[level]}]{level:>4}[/] {name}: {detail}", highlight=False, soft_wrap=True)
    return EXIT_FAILED if any(level == "fail" for _, level, _ in lines) else EXIT_OK
