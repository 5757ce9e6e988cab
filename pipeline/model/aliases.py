"""Image aliases: public names (``python:3.11-slim``) mapped to stand-ins (``slipway/python:3.11``).

Where no registry is reachable (our machines, air-gapped runners) the public image
cannot be pulled; ``images bootstrap`` builds look-alikes and pipeline.yaml's
``images.aliases`` maps the public names to them. The same pipeline.yaml must also
work on a runner that reaches Docker Hub and never bootstrapped, so an alias is a
fallback, not a rewrite (``choose_image``):

1. the alias target is present locally -> the target;
2. else the public image is present locally, or can be pulled -> the public image;
3. else (neither here nor pullable) -> the target (pulled if it is a registry image).

Each engine supplies "is it here" and "pull it"; this module is the decision and
its wording, so both engines decide and say it the same way. ``alias_problem`` is
the config check: an alias never changes the version a name asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.model.bases import matching_base, nearest_base, parse_image_name

# The aliases of the bundled example; doctor and the tests use them with no pipeline.yaml.
DEFAULT_ALIASES: dict[str, str] = {
    "python:3.11-slim": "slipway/python:3.11",
    "node:20-slim": "slipway/node:20",
    "postgres:15": "slipway/postgres:15",
}


def alias_for(ref: str, aliases: Mapping[str, str]) -> str | None:
    """The alias target of ``ref``, or None. A reference without a tag also matches its
    ``:latest`` alias, as docker does."""
    if ref in aliases:
        return aliases[ref]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last and f"{ref}:latest" in aliases:
        return aliases[f"{ref}:latest"]
    return None


def resolve_alias(ref: str, aliases: Mapping[str, str]) -> str:
    """The alias target of ``ref`` (itself when it has none), whatever is present.

    For display and for callers with no engine to ask; running an image goes
    through ``choose_image``.
    """
    return alias_for(ref, aliases) or ref


@dataclass(frozen=True, slots=True)
class ImageChoice:
    """Which image runs for a name, and why (said in the job's log and on the console)."""

    logical: str  # what pipeline.yaml or the Dockerfile says
    ref: str  # what runs
    reason: str

    @property
    def aliased(self) -> bool:
        return self.ref != self.logical

    def describe(self) -> str:
        if not self.aliased:
            return f"image {self.logical}: {self.reason}"
        return f"image {self.logical}: using {self.ref} ({self.reason})"


def choose_image(
    logical: str,
    aliases: Mapping[str, str],
    *,
    present: Callable[[str], bool],
    pull: Callable[[str], str | None],
) -> ImageChoice:
    """Decide which image runs for ``logical`` (the policy in this module's docstring).

    ``present(ref)`` says whether the engine has ``ref`` already; ``pull(ref)`` fetches
    it and returns None, or the reason it could not. The target's own pull (step 3)
    is the caller's: it returns a choice whose ref may still be missing.
    """
    target = alias_for(logical, aliases)
    if target is None or target == logical:
        if present(logical):
            return ImageChoice(logical, logical, "present locally")
        failed = pull(logical)
        reason = "pulled" if failed is None else f"not present; pull failed: {failed}"
        return ImageChoice(logical, logical, reason)
    if present(target):
        return ImageChoice(logical, target, "alias; its target is present locally")
    if present(logical):
        return ImageChoice(logical, logical, f"present locally; alias target {target} is not")
    failed = pull(logical)
    if failed is None:
        return ImageChoice(logical, logical, f"pulled; alias target {target} is not present locally")
    why = f"alias; {logical} is not present locally and its pull failed: {failed}"
    return ImageChoice(logical, target, why)


def alias_problem(name: str, target: str) -> str | None:
    """Why ``name: target`` is a wrong alias (another family or version), or None.

    A name whose version no base provides may point at the nearest base (what the
    bootstrap error suggests: ``python:3.12-slim: slipway/python:3.13``), nothing else.
    """
    asked, given = parse_image_name(name), parse_image_name(target)
    if asked is None or given is None or asked.version is None or given.version is None:
        return None  # not a family we know, or no version to compare
    exact = matching_base(asked)
    if exact is None:
        right = nearest_base(asked)
        allowed = given.family == asked.family and given.key == right.key
        why = f"no base provides {asked.family} {asked.version}; the nearest is {right.version}"
    else:
        right = exact
        allowed = given.family == asked.family and given.key[: len(asked.key)] == asked.key
        why = f"{name} is {asked.family} {asked.version}"
    if allowed:
        return None
    return (
        f"alias target {target} is {given.family} {given.version}, but {why}: an alias never "
        f"swaps versions silently. Use {right.tag} (build it with `python -m pipeline images "
        f"bootstrap {right.tag}`), or remove the alias to use {name} itself"
    )
