"""Which public images have a local look-alike here (``images bootstrap`` builds them for
runners that reach no registry): the aliases ``init`` writes, only for images this
machine has, so that a pipeline.yaml written on a laptop that pulls from Docker Hub
carries none."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_LOOKALIKES = (
    (re.compile(r"^python:(\d+\.\d+)(?:[.-].*)?$"), "slipway/python:{0}"),
    (re.compile(r"^postgres:(\d+)(?:[.-].*)?$"), "slipway/postgres:{0}"),
    (re.compile(r"^node:(\d+)(?:[.-].*)?$"), "slipway/node:{0}"),
)


def lookalike(ref: str) -> str | None:
    """``slipway/python:3.11`` for ``python:3.11-slim`` (None when bootstrap makes none)."""
    for pattern, target in _LOOKALIKES:
        m = pattern.match(ref)
        if m:
            return target.format(*m.groups())
    return None


def local_aliases(refs: Iterable[str], present: Callable[[str], bool]) -> dict[str, str]:
    """Aliases for the images in ``refs`` whose look-alike ``present`` says this machine has."""
    out = {}
    for ref in refs:
        target = lookalike(ref)
        if target is not None and target != ref and present(target):
            out[ref] = target
    return out
