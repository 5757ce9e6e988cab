"""The one place where dagger-io's exceptions become Slipway's (httpx's ``map_httpcore_exceptions``).

- The session cannot start, or its connection is gone (the engine died, ``dagger run``
  is ending): ``EngineUnavailable``; the run stops, writes its report, exits 2.
- Anything the engine refuses inside one job (an image it cannot pull, a Dockerfile
  COPY of a file that is not there, a service that exits, a refused publish): a
  ``QueryError``, which fails that job alone (``EngineJobError``, with the message).
- A command of the job's own that fails is not an error at all (``expect=ANY``); one
  killed by a signal is read by ``job`` as its exit code, never here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dagger
import httpx

from pipeline.model.errors import EngineJobError, EngineUnavailable

INSTALL_HELP = (
    "start Slipway's engine (`python -m pipeline engine dagger --start`), run under "
    "`dagger run python -m pipeline ...`, point _EXPERIMENTAL_DAGGER_RUNNER_HOST at an "
    "engine, or use `--engine docker`"
)


class DaggerJobFailed(EngineJobError):
    """A Dagger step outside the job's own commands failed (a build, a probe, a service)."""

    def __init__(self, message: str, *, command_exit: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.command_exit = command_exit  # the failed step's exit code (not the CLI's)
        self.output = output


class SessionLost(EngineUnavailable):
    """The engine session went away while the run used it."""


@asynccontextmanager
async def dagger_errors(what: str) -> AsyncIterator[None]:
    """Translate what dagger-io raises while doing ``what``."""
    try:
        yield
    except dagger.ExecError as exc:
        output = f"{exc.stdout}{exc.stderr}"
        raise DaggerJobFailed(
            f"{what}: `{' '.join(exc.command)}` exited {exc.exit_code}",
            command_exit=exc.exit_code,
            output=output,
        ) from exc
    except dagger.ProvisionError as exc:  # includes SessionError, DownloadError
        raise EngineUnavailable(f"cannot start a Dagger engine session ({exc}): {INSTALL_HELP}") from exc
    except (dagger.ClientConnectionError, dagger.TransportError, httpx.TransportError) as exc:
        raise SessionLost(f"lost the Dagger engine session while trying to {what} ({exc})") from exc
    except dagger.QueryError as exc:
        raise DaggerJobFailed(f"Dagger could not {what}: {exc}") from exc
    except dagger.DaggerError as exc:
        raise DaggerJobFailed(f"Dagger failed to {what}: {exc}") from exc
