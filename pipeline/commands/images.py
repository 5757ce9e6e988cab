"""``python -m pipeline images bootstrap``: base images for runners that reach no registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.commands.options import ConfigOpt, optional_config, say
from pipeline.engines.docker import bootstrap as images

app = typer.Typer(help="Base images for runners that reach no image registry.")


@app.command("bootstrap")
def bootstrap(
    config: ConfigOpt = Path("pipeline.yaml"),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build again even if present.")] = False,
    mirror: Annotated[str | None, typer.Option("--mirror", help="Debian mirror URL.")] = None,
) -> None:
    """Build the base images (Python, PostgreSQL, Node) from a Debian mirror; quick if present."""
    cfg = optional_config(config)
    bundle = cfg.ca_bundle() if cfg is not None else None
    if bundle is None and images.DEFAULT_CA_BUNDLE.is_file():
        bundle = images.DEFAULT_CA_BUNDLE
    images.bootstrap(rebuild=rebuild, mirror=mirror or images.DEFAULT_MIRROR, ca_bundle=bundle, echo=say)
