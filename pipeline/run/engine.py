"""From ``--engine`` to an engine factory: choose (and say why), then build one per run.

The only place that knows the concrete engines: everything below receives an
``Engine`` (httpx's ``Client`` receives a transport).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.engines.base import Engine, RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.engines.select import choose_engine

EngineFactory = Callable[[RunContext], Engine]


@dataclass(frozen=True, slots=True)
class OpenedEngine:
    """The engine chosen for ``--engine``, why, and how to build it for a run."""

    name: str
    reason: str
    factory: EngineFactory


def engine_factory(config: Config, name: str) -> EngineFactory:
    aliases = dict(config.model.images.aliases)
    bundle = config.ca_bundle()

    def make(ctx: RunContext) -> Engine:
        # dagger-io is imported only when a run uses it: it takes seconds.
        if name == "dagger":
            from pipeline.engines.dagger import DaggerEngine  # noqa: PLC0415  dagger-io is slow to import

            return DaggerEngine(ctx, aliases=aliases, ca_bundle=bundle)
        return DockerEngine(ctx, aliases=aliases, ca_bundle=bundle)

    return make


def open_engine(config: Config, requested: str) -> OpenedEngine:
    """Choose the engine now (exit 2 naming what to start if none), build it per run."""
    choice = choose_engine(requested)
    return OpenedEngine(name=choice.name, reason=choice.reason, factory=engine_factory(config, choice.name))
