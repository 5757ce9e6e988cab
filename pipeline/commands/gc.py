"""``python -m pipeline gc``: remove what dead runs left on the Docker daemon."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.commands.options import out
from pipeline.engines.docker.gc import collect


def gc(
    all_runs: Annotated[
        bool, typer.Option("--all", help="Also objects of runs that may still be going.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
) -> None:
    """Remove the containers, networks and volumes that dead runs left behind."""
    report = collect(all_runs=all_runs, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for kind, names in (
        ("containers", report.containers),
        ("networks", report.networks),
        ("volumes", report.volumes),
    ):
        out.print(f"{verb} {len(names)} {kind}" + (f": {', '.join(names)}" if names else ""))
