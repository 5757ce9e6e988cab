"""Image aliases: the logical names pipeline.yaml and Dockerfiles use, mapped to local images.

Where no registry is reachable (our machines, air-gapped runners) ``python:3.11-slim``
cannot be pulled; ``images bootstrap`` builds look-alikes and ``DEFAULT_ALIASES``
maps the logical names to them. Both engines resolve a reference here, so they
run the same image for the same name.
"""

from __future__ import annotations

from collections.abc import Mapping

# Logical image (what Dockerfiles and pipeline.yaml say) -> image bootstrap builds.
DEFAULT_ALIASES: dict[str, str] = {
    "python:3.11-slim": "slipway/python:3.11",
    "node:20-slim": "slipway/node:20",
    "postgres:15": "slipway/postgres:15",
}

# Aliases for the optional images, for pipeline.yaml to opt into.
OPTIONAL_ALIASES: dict[str, str] = {"python:3.13-slim": "slipway/python:3.13"}


def resolve_alias(ref: str, aliases: Mapping[str, str]) -> str:
    """The local image a logical reference stands for (itself when it has no alias).

    A reference without a tag also matches its ``:latest`` alias, as docker does.
    """
    if ref in aliases:
        return aliases[ref]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last and f"{ref}:latest" in aliases:
        return aliases[f"{ref}:latest"]
    return ref
