"""What the commands share: the consoles, the common options, the optional config."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.config import Config, load_config

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The pipeline file.")]


class EngineChoice(StrEnum):
    auto = "auto"
    dagger = "dagger"
    docker = "docker"


EngineOpt = Annotated[EngineChoice, typer.Option("--engine", help="Which engine runs the jobs.")]


def optional_config(path: Path) -> Config | None:
    """pipeline.yaml when there is one: doctor, bootstrap and cache work without it too."""
    return load_config(path) if path.exists() else None


def say(line: str) -> None:
    """A progress line on stderr (stdout keeps what a command prints for machines)."""
    err.print(line, markup=False)
