"""The base images Slipway can build from a Debian mirror, and the names users write for them.

Engine-neutral facts: which Python, PostgreSQL and Node versions Debian's suites
carry (one base per version), how ``python:3.14-slim`` / ``slipway/python:3.14`` /
``postgres:18-alpine`` name one of them, and the nearest base for a version no
suite carries (Python 3.12, PostgreSQL 16). The Docker engine's bootstrap builds
them; the config check and the alias policy read them; the Dagger engine can too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.model.errors import UsageError

BASE_REPOSITORY = "slipway"  # bases are tagged slipway/<family>:<version>
FAMILIES = ("python", "postgres", "node")

# The public name a family's images usually go by in Dockerfiles and compose files,
# for the alias line an error suggests (``python:3.12-slim: slipway/python:3.13``).
_PUBLIC_SUFFIX = {"python": "-slim", "postgres": "", "node": "-slim"}
# How many numeric parts name a version of the family: Python's minor versions are
# its "majors" (3.11 vs 3.14), PostgreSQL's and Node's majors are one number.
_VERSION_PARTS = {"python": 2, "postgres": 1, "node": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class Base:
    """One base image: a family at one version, built on one Debian suite."""

    family: str
    version: str  # "3.14", "18", "20"
    suite: str  # the Debian suite that carries it
    seen: str  # the upstream version in the suite's index when this table was written
    default: bool = False  # built by a bare `images bootstrap` when pipeline.yaml names none
    # Where it is tagged; the tests build a copy under a throwaway name to check bootstrap
    # on a tag nobody else uses (the shared daemon's slipway/* images are left alone).
    repository: str = BASE_REPOSITORY

    @property
    def tag(self) -> str:
        return f"{self.repository}/{self.family}:{self.version}"

    @property
    def public(self) -> str:
        """The official image name this base stands in for, as Dockerfiles write it."""
        return f"{self.family}:{self.version}{_PUBLIC_SUFFIX[self.family]}"

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version)


# Package indexes read 2026-12-02 (bookworm = 12, trixie = 13, forky = testing).
# No suite carries Python 3.12 or PostgreSQL 14 or 16.
BASES: tuple[Base, ...] = (
    Base(family="python", version="3.11", suite="bookworm", seen="3.11.2", default=True),
    Base(family="python", version="3.13", suite="trixie", seen="3.13.5"),
    Base(family="python", version="3.14", suite="forky", seen="3.14.8"),
    Base(family="python", version="3.15", suite="forky", seen="3.15.0"),
    Base(family="postgres", version="15", suite="bookworm", seen="15.20", default=True),
    Base(family="postgres", version="17", suite="trixie", seen="17.12"),
    Base(family="postgres", version="18", suite="forky", seen="18.6"),
    Base(family="node", version="20", suite="trixie", seen="20.19", default=True),
)

_TAG_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(?:[-_.].*)?$")


@dataclass(frozen=True, slots=True)
class ImageName:
    """A reference read as "family at a version": ``python:3.14-slim`` -> (python, 3.14)."""

    written: str  # as the user wrote it
    family: str
    version: str | None  # None: no version (``python``, ``python:latest``, ``python:slim``)
    ours: bool  # slipway/<family>:<version>

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version or "")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def split_reference(ref: str) -> tuple[str, str | None]:
    """(repository path without registry and ``library/``, tag or None); digests dropped."""
    ref = ref.split("@", 1)[0]
    parts = ref.split("/")
    # A first part with a dot, a colon or "localhost" is a registry host (docker's rule).
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    path = "/".join(parts)
    last = parts[-1] if parts else ""
    if ":" in last:
        name, tag = last.rsplit(":", 1)
        return "/".join([*parts[:-1], name]), tag
    return path, None


def parse_image_name(ref: str) -> ImageName | None:
    """The family and version ``ref`` names, or None when it is not a family we build.

    ``python:3.14-slim``, ``python:3.14``, ``docker.io/library/python:3.14.2-bookworm``,
    ``slipway/python:3.14`` -> python 3.14; ``postgres:18-alpine`` -> postgres 18.
    A patch version is cut to the family's granularity (3.14.2 -> 3.14, 18.1 -> 18).
    """
    path, tag = split_reference(ref.strip())
    parts = path.split("/")
    ours = len(parts) == 2 and parts[0] == BASE_REPOSITORY
    if not (len(parts) == 1 or ours) or parts[-1] not in FAMILIES:
        return None
    family = parts[-1]
    version = None
    match = _TAG_VERSION.match(tag or "")
    if match:
        numbers = match.group(1).split(".")
        version = ".".join(numbers[: _VERSION_PARTS[family]])
    return ImageName(written=ref, family=family, version=version, ours=ours)


def bases_of(family: str) -> list[Base]:
    return sorted((b for b in BASES if b.family == family), key=lambda b: b.key)


def matching_base(name: ImageName) -> Base | None:
    """The base for exactly this version (no version: the newest of the family)."""
    candidates = bases_of(name.family)
    if name.version is None:
        return candidates[-1] if candidates else None
    # "python:3" asks for any 3.x: the newest one that starts with it.
    found = [b for b in candidates if b.key[: len(name.key)] == name.key]
    if len(name.key) < _VERSION_PARTS[name.family]:
        return found[-1] if found else None
    return found[0] if found else None


def nearest_base(name: ImageName) -> Base:
    """The base to use for a version none provides: the nearest at or above (an older
    interpreter or server breaks ``>=`` constraints, newer syntax and dumps), else the newest."""
    candidates = bases_of(name.family)
    above = [b for b in candidates if b.key >= name.key]
    return above[0] if above else candidates[-1]


def public_name(name: ImageName) -> str:
    """The name to write as an alias key: as written, or the usual public name for ours."""
    if not name.ours:
        return name.written
    return f"{name.family}:{name.version}{_PUBLIC_SUFFIX[name.family]}"


def no_base_message(name: ImageName) -> str:
    """What to do when no suite carries the version ``name`` asks for."""
    near = nearest_base(name)
    label = {"python": "Python", "postgres": "PostgreSQL", "node": "Node"}[name.family]
    note = ""
    if name.family == "python" and name.key < (3, 13) <= near.key:
        note = "\n(3.13 removed the PEP 594 modules cgi, crypt, telnetlib... and lib2to3.)"
    return (
        f"no base image provides {label} {name.version}: no Debian suite carries it. The nearest "
        f"is {near.version} ({near.tag}, Debian {near.suite}).{note}\n"
        "To use it, map the name your Dockerfile or compose file uses, under images.aliases "
        f'in pipeline.yaml:\n    "{public_name(name)}": {near.tag}\n'
        f"and build it with: python -m pipeline images bootstrap {near.tag}"
    )


def resolve_base(ref: str) -> Base:
    """The base a user's name asks for; ``UsageError`` (exit 2) naming the nearest if none."""
    name = parse_image_name(ref)
    if name is None:
        known = ", ".join(b.tag for b in BASES)
        raise UsageError(
            f"{ref!r} is not an image bootstrap builds; it builds {', '.join(FAMILIES)}: {known} "
            "(also written python:3.14, python:3.14-slim, postgres:18, node:20-slim)"
        )
    base = matching_base(name)
    if base is None:
        raise UsageError(no_base_message(name))
    return base
