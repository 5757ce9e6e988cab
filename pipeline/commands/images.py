"""``python -m pipeline images bootstrap|list``: base images for runners that reach no registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.commands.options import ConfigOpt, optional_config, out, say
from pipeline.config import Config
from pipeline.engines.docker import bootstrap as bases
from pipeline.engines.docker.errors import connect
from pipeline.model.bases import BASES, Base
from pipeline.model.errors import SlipwayError

app = typer.Typer(help="Base images (Python, PostgreSQL, Node) for runners that reach no image registry.")

NamesArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="NAME",
        help="Images to build, in any form: slipway/python:3.14, python:3.14, python:3.14-slim, "
        "postgres:18, postgres:18-alpine, node:20-slim. Default: those pipeline.yaml's "
        "images.aliases point at, else python 3.11, postgres 15 and node 20.",
        show_default=False,
    ),
]
RebuildOpt = Annotated[
    bool,
    typer.Option(
        "--rebuild", help="Build again even if present (debootstrap and apt afresh, no layer cache)."
    ),
]
MirrorOpt = Annotated[str | None, typer.Option("--mirror", help="Debian mirror URL.", show_default=False)]
SecurityOpt = Annotated[
    str | None,
    typer.Option(
        "--security-mirror",
        help="Debian security mirror URL (default: the mirror's host, /debian-security).",
        show_default=False,
    ),
]


@app.command("bootstrap")
def bootstrap(
    names: NamesArg = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show what bootstrap can build and what is built; build nothing.")
    ] = False,
    rebuild: RebuildOpt = False,
    mirror: MirrorOpt = None,
    security_mirror: SecurityOpt = None,
    config: ConfigOpt = Path("pipeline.yaml"),
) -> None:
    """Build base images that behave like the official ones, from a Debian mirror.

    One base per version that Debian's suites carry: Python 3.11 (bookworm), 3.13
    (trixie), 3.14 and 3.15 (forky); PostgreSQL 15 (bookworm), 17 (trixie), 18
    (forky); Node 20 (trixie). They are tagged slipway/python:3.14 and so on;
    pipeline.yaml maps public names to them under images.aliases, e.g.
    "python:3.14-slim": slipway/python:3.14 (the alias is used when its target is
    present, or when the public image cannot be pulled).

    Only what is asked is built; what is present is reused (a second call takes
    seconds); an image built by an older recipe is rebuilt. A version no suite
    carries (Python 3.12, PostgreSQL 16) is an error that names the nearest base
    and the alias line to write. --list (or `images list`) shows every base, its
    Debian suite, exact version, and whether it is built. Progress goes to stderr;
    build logs to /var/tmp/slipway/logs.
    """
    cfg = optional_config(config)
    wanted = bases.bases_for(names or [], _aliases(cfg))
    if list_only:
        _print_list(wanted if names else None)
        return
    if not names:
        targets = set(_aliases(cfg).values())
        from_aliases = any(b.tag in targets for b in wanted)
        source = f"what {config}'s images.aliases point at" if from_aliases else "the defaults"
        say(f"bases to build or reuse: {', '.join(b.tag for b in wanted)} ({source})")
    bundle = cfg.ca_bundle() if cfg is not None else None
    if bundle is None and bases.DEFAULT_CA_BUNDLE.is_file():
        bundle = bases.DEFAULT_CA_BUNDLE
    bases.bootstrap(
        bases=wanted,
        rebuild=rebuild,
        mirror=mirror or bases.DEFAULT_MIRROR,
        security_mirror=security_mirror,
        ca_bundle=bundle,
        echo=say,
    )


@app.command("list")
def list_images(names: NamesArg = None) -> None:
    """Show what bootstrap can build: name, public name, Debian suite, exact version, built or not."""
    _print_list(bases.bases_for(names) if names else None)


def _aliases(cfg: Config | None) -> dict[str, str]:
    return dict(cfg.model.images.aliases) if cfg is not None else {}


def _print_list(only: list[Base] | None) -> None:
    try:
        client = connect(timeout=10)
    except SlipwayError as exc:
        say(f"cannot say what is built: {exc}")
        rows = [(b, "unknown", b.seen) for b in (only or BASES)]
    else:
        try:
            found = bases.status(client, only or BASES)
        finally:
            client.close()
        rows = [(s.base, s.state, s.version if s.built else s.base.seen) for s in found]
    header = ("NAME", "STANDS FOR", "DEBIAN", "VERSION", "STATE")
    table = [header] + [
        (
            b.tag,
            b.public,
            b.suite,
            version if state == "built" else f"{version}*",
            {"built": "built", "missing": "not built", "outdated": "outdated: rebuilt by bootstrap"}.get(
                state, state
            )
            + (" (default)" if b.default else ""),
        )
        for b, state, version in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        out.print(line.rstrip(), markup=False)
    if any(state != "built" for _, state, _ in rows):
        out.print(
            "* the version in the suite's package index when this Slipway was written; "
            "bootstrap installs the suite's current one",
            markup=False,
        )
