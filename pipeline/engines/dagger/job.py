"""A job's commands on Dagger, one ``with_exec`` at a time, and its outputs.

- Each command is evaluated (``exit_code``) before the next is chained, so the first
  non-zero exit stops the job; argv lists stay argv (no shell wrapper), and each
  command's output gets its own section of the log, written when it ends.
- A command killed by a signal (137: SIGKILL, often out of memory; 139: SIGSEGV; 143:
  SIGTERM) is not a value ``expect=ANY`` returns: Dagger raises, and drops what the
  command wrote to the file system. Its exit code and output are read from the error,
  and outputs are exported from the container as it was before that command; the log
  says what was lost.
- Outputs are exported after the last command that ran, failed or not.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import dagger

from pipeline.engines.dagger.chain import with_command
from pipeline.engines.dagger.errors import DaggerJobFailed, dagger_errors
from pipeline.model.joblog import JobLog
from pipeline.model.spec import ContainerSpec

SIGNAL_EXIT_BASE = 128


@dataclass(slots=True)
class Ran:
    """How the commands went: the exit code, and the container to export outputs from."""

    exit_code: int
    container: dagger.Container | None
    notes: list[str] = field(default_factory=list)


def signal_name(exit_code: int) -> str | None:
    """``SIGKILL`` for 137 and so on; None for an ordinary exit code."""
    if exit_code <= SIGNAL_EXIT_BASE:
        return None
    try:
        return signal.Signals(exit_code - SIGNAL_EXIT_BASE).name
    except ValueError:
        return None


def killed_note(argv: Sequence[str], exit_code: int) -> str:
    name = signal_name(exit_code) or "a signal"
    why = " (out of memory, or killed)" if exit_code == SIGNAL_EXIT_BASE + signal.SIGKILL else ""
    return (
        f"`{' '.join(argv)}` was killed by {name}{why}: exit code {exit_code}. Dagger keeps no file "
        "system of a killed command: what it wrote is lost, outputs are exported as they were "
        "before it"
    )


async def run_commands(ctr: dagger.Container, spec: ContainerSpec, log: JobLog) -> Ran:
    """Run ``spec.commands`` on ``ctr`` in order; stop at the first that fails."""
    exit_code = 0
    for argv in spec.commands:
        step = with_command(ctr, argv)
        log.line(f"--- $ {' '.join(argv)}")
        try:
            async with dagger_errors(f"run job {spec.name}"):
                exit_code = await step.exit_code()
                output = await step.combined_output()
        except DaggerJobFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, dagger.ExecError) and list(cause.command) == list(argv):
                _write(log, exc.output)
                note = killed_note(argv, cause.exit_code)
                log.engine(note)
                log.line(f"--- exit code {cause.exit_code}")
                return Ran(cause.exit_code, ctr, [note])
            raise  # the job's image could not be built or pulled: the job fails with it
        _write(log, output)
        log.line(f"--- exit code {exit_code}")
        ctr = step
        if exit_code != 0:
            break
    return Ran(exit_code, ctr)


def _write(log: JobLog, output: str) -> None:
    for line in output.splitlines():
        log.line(line)


async def export_outputs(
    ctr: dagger.Container, spec: ContainerSpec, output_dir: Path, log: JobLog
) -> dict[str, Path]:
    """Export each output that exists, mirroring its container path under ``output_dir``."""
    exported: dict[str, Path] = {}
    for path in spec.outputs:
        dest = output_dir / PurePosixPath(path).relative_to("/")
        try:
            async with dagger_errors(f"export {path} from job {spec.name}"):
                if not await ctr.exists(path):
                    log.engine(f"output {path}: not found, not exported")
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                if await ctr.exists(path, expected_type=dagger.ExistsType.DIRECTORY_TYPE):
                    await ctr.directory(path).export(str(dest))
                else:
                    await ctr.file(path).export(str(dest))
        except DaggerJobFailed as exc:
            log.engine(f"output {path}: could not be exported ({exc})")
            continue
        exported[path] = dest
    return exported
