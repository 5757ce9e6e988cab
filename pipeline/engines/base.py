"""The engine Protocol, its result, and the labels every engine object carries.

The Protocol names every capability a stage or a command uses. An engine
implements each one or raises ``NotSupported`` (pipeline.model.errors) with a
message that says what to use instead; nobody asks an engine what it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.model.secrets import Redactor
from pipeline.model.spec import ContainerSpec, Credentials, ImageBuild

# Every Docker object a run makes carries these labels, so `gc` can find leftovers.
LABEL_RUN = "dev.slipway.run"
LABEL_JOB = "dev.slipway.job"
LABEL_PID = "dev.slipway.pid"
LABEL_HOST = "dev.slipway.host"  # which machine made an object: a pid means something only there
LABEL_SERVICE = "dev.slipway.service"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What running a spec gave: a failing command is a result, not an exception."""

    exit_code: int
    log_path: Path
    duration_s: float
    # container path -> host path of what was exported (also after a failure)
    outputs: dict[str, Path] = field(default_factory=dict)
    # Seconds per phase of the job (engine-specific names: create, source, services,
    # commands, export, cleanup...) and epoch-second marks (command_start, command_end
    # of the last command); empty where the engine cannot tell.
    phases: dict[str, float] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    # The last command was ended by the kernel's OOM killer at the spec's memory limit
    # (only an engine that applies the limit can tell: Docker).
    oom_killed: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """Per-run facts an engine needs: who it labels objects for, what it masks."""

    run_id: str
    redactor: Redactor = field(default_factory=Redactor)
    # Where an engine may write logs of its own (the report's logs/); None: nowhere.
    log_dir: Path | None = None
    # One line for the run's console (e.g. which image an alias resolved to); quiet by default.
    announce: Callable[[str], None] = field(default=lambda _line: None)


@runtime_checkable
class Engine(Protocol):
    """Runs container specs and the image work around them.

    Raises ``EngineUnavailable`` only when the engine cannot be reached at all;
    anything that goes wrong inside one job is ``EngineJobError`` (that job fails).
    """

    name: str  # for messages and the report; never to switch on

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        """Run the spec's commands in order (stop at the first failure), stream the
        output to ``log_path``, then export ``spec.outputs`` under ``output_dir``
        whether or not a command failed."""
        ...

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        """Start the spec's shared services now, ahead of ``run`` (so that they are ready
        when the job's image is); idempotent. Never raises for a service that fails: the
        job that needs it reports that when it runs."""
        ...

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        """Build an image; return a reference that ``ImageRef`` can name on this engine."""
        ...

    async def image_digest(self, ref: str) -> str | None:
        """The engine's id of the image ``ref`` names (after aliases), None if it has none."""
        ...

    async def publish(
        self, built: str, dest: str, *, credentials: Credentials | None, log_path: Path
    ) -> str:
        """Push the image ``build_image`` returned as ``dest`` (host/repo:tag); the digest."""
        ...

    async def cache_volume_empty(self, cache: str) -> bool:
        """True if the shared cache volume ``cache`` is missing or empty."""
        ...

    async def export_cache_volume(self, cache: str, dest: Path) -> None:
        """Write the shared cache volume's content to ``dest`` as a tar."""
        ...

    async def import_cache_volume(self, cache: str, tar: Path) -> None:
        """Unpack a tar made by ``export_cache_volume`` into the shared cache volume."""
        ...

    async def shell(
        self,
        spec: ContainerSpec,
        *,
        command: Sequence[str],
        log_path: Path,
        output_dir: Path,
        announce: Callable[[str], None],
    ) -> int:
        """Set the spec's container and services up, run ``command`` in it on the user's
        terminal, remove everything when it ends; its exit code."""
        ...

    def describe(self, spec: ContainerSpec) -> list[str]:
        """The engine calls ``run`` would make, one per line, without running anything."""
        ...

    async def aclose(self) -> None:
        """Remove every object this run made (containers, networks, services)."""
        ...
