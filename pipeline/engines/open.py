"""From ``--engine`` to an engine factory: choose (and say why), then build it per run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.engines.base import Engine, RunContext
from pipeline.engines.select import choose_engine
from pipeline.model.errors import ConfigError
from pipeline.run import EngineFactory, Finalizer


@dataclass(frozen=True, slots=True)
class OpenedEngine:
    name: str
    reason: str
    factory: EngineFactory
    finalizers: tuple[Finalizer, ...] = ()


def ca_bundle(config: Config) -> Path | None:
    """The configured CA bundle, relative to pipeline.yaml; a missing file is a config error."""
    if config.model.ca_bundle is None:
        return None
    path = (config.base_dir / config.model.ca_bundle).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{config.loaded.where_value(('ca_bundle',))}: ca_bundle: {path} does not exist; "
            "point it at your CA bundle (Debian: /etc/ssl/certs/ca-certificates.crt) or remove it"
        )
    return path


def engine_factory(config: Config, name: str) -> EngineFactory:
    aliases = dict(config.model.images.aliases)
    bundle = ca_bundle(config)

    def make(ctx: RunContext) -> Engine:
        if name == "dagger":
            from pipeline.engines.dagger import DaggerEngine

            return DaggerEngine(ctx, aliases=aliases, ca_bundle=bundle)
        from pipeline.engines.docker import DockerEngine

        return DockerEngine(ctx, aliases=aliases, ca_bundle=bundle)

    return make


def open_engine(config: Config, requested: str) -> OpenedEngine:
    """Choose the engine now (exit 2 naming what to start if none), build it per run."""
    from pipeline.reports.finalize import FINALIZERS

    choice = choose_engine(requested)
    return OpenedEngine(
        name=choice.name,
        reason=choice.reason,
        factory=engine_factory(config, choice.name),
        finalizers=FINALIZERS,
    )
