"""What an engine's record of a finished command says its exit code is.

Docker's exec inspect has ``Running`` and ``ExitCode``; the code is set only once
the process is reaped, a moment after its output ends. A command whose code is
missing did not succeed as far as anyone can tell: it counts as failed, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_UNKNOWN = 1  # no exit code recorded: a failure, never a success


def exit_code(inspect: Mapping[str, object]) -> int | None:
    """The command's exit code, or None while it is still running."""
    if inspect.get("Running"):
        return None
    code = inspect.get("ExitCode")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    return EXIT_UNKNOWN
