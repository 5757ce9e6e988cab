"""The engine Protocol, its result, and the labels every engine object carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.model.secrets import Redactor
from pipeline.model.spec import ContainerSpec, ImageBuild

# Every Docker object a run makes carries these labels, so `gc` can find leftovers.
LABEL_RUN = "dev.slipway.run"
LABEL_JOB = "dev.slipway.job"
LABEL_PID = "dev.slipway.pid"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What running a spec gave: a failing command is a result, not an exception."""

    exit_code: int
    log_path: Path
    duration_s: float
    # container path -> host path of what was exported (also after a failure)
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """Per-run facts an engine needs: who it labels objects for, what it masks."""

    run_id: str
    redactor: Redactor = field(default_factory=Redactor)


@runtime_checkable
class Engine(Protocol):
    """Runs container specs. Raises ``EngineUnavailable`` only when it cannot run at all."""

    name: str

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        """Run the spec's commands in order (stop at the first failure), stream the
        output to ``log_path``, then export ``spec.outputs`` under ``output_dir``
        whether or not a command failed."""
        ...

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        """Build an image; return a reference that ``ImageRef`` can name."""
        ...

    def describe(self, spec: ContainerSpec) -> list[str]:
        """The engine calls ``run`` would make, one per line, without running anything."""
        ...

    async def aclose(self) -> None:
        """Remove every object this run made (containers, networks, services)."""
        ...
