"""From ``--engine`` to an engine factory: choose (and say why), then build one per run.

The only place that knows the concrete engines: everything below receives an
``Engine`` (httpx's ``Client`` receives a transport). On Slipway's own Dagger engine the
run first makes sure the config's aliases are in the engine's mirror (a few HEAD
requests when they are), so ``FROM python:3.11-slim`` and ``from_`` find them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.engines.base import Engine, RunContext
from pipeline.engines.dagger.connection import DaggerTarget
from pipeline.engines.dagger.provision.mirror import ensure_mirrored, mirror_pairs
from pipeline.engines.dagger.provision.proc import Steps
from pipeline.engines.docker import DockerEngine
from pipeline.engines.select import choose_engine

EngineFactory = Callable[[RunContext], Engine]


@dataclass(frozen=True, slots=True)
class OpenedEngine:
    """The engine chosen for ``--engine``, why, and how to build it for a run."""

    name: str
    reason: str
    factory: EngineFactory


def engine_factory(
    config: Config, name: str, target: DaggerTarget | None = None, mirrored: frozenset[str] = frozenset()
) -> EngineFactory:
    aliases = dict(config.model.images.aliases)
    bundle = config.ca_bundle()

    def make(ctx: RunContext) -> Engine:
        # dagger-io is imported only when a run uses it: it takes seconds.
        if name == "dagger":
            from pipeline.engines.dagger.engine import DaggerEngine  # noqa: PLC0415  dagger-io is slow to import

            return DaggerEngine(ctx, target=target, aliases=aliases, ca_bundle=bundle, mirrored=mirrored)
        return DockerEngine(ctx, aliases=aliases, ca_bundle=bundle)

    return make


def mirror_aliases(config: Config, target: DaggerTarget, emit: Callable[[str], None]) -> frozenset[str]:
    """Push the config's alias images the Slipway engine's mirror lacks; the names it holds."""
    if not target.mirror:
        return frozenset()
    port = int(target.mirror.rsplit(":", 1)[1])
    state = ensure_mirrored(Steps(lambda line: None), port, mirror_pairs(dict(config.model.images.aliases)))
    for what in state.pushed:
        emit(f"mirror: pushed {what} to the engine's docker.io mirror")
    return state.present


def open_engine(config: Config, requested: str, emit: Callable[[str], None] | None = None) -> OpenedEngine:
    """Choose the engine now (exit 2 naming what to start if none), build it per run."""
    choice = choose_engine(requested)
    mirrored = (
        mirror_aliases(config, choice.dagger, emit or (lambda line: None)) if choice.dagger else frozenset()
    )
    return OpenedEngine(
        name=choice.name,
        reason=choice.reason,
        factory=engine_factory(config, choice.name, choice.dagger, mirrored),
    )
