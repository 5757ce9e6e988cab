"""One root error for everything Slipway expects to go wrong, and its exit codes.

A failing job is never an exception (it is a result with a status); these are
for "could not run at all". Every message says what to do next.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class SlipwayError(Exception):
    """Root of Slipway's expected errors; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_FAILED


class UsageError(SlipwayError):
    """Bad command-line usage."""

    exit_code = EXIT_USAGE


class ConfigError(SlipwayError):
    """pipeline.yaml is wrong; the message names file:line:column and the key path."""

    exit_code = EXIT_USAGE


class EngineUnavailable(SlipwayError):
    """The engine cannot be reached at all (a dead daemon socket, a refused Dagger
    session): the run stops, exit 2."""

    exit_code = EXIT_USAGE


class EngineJobError(SlipwayError):
    """The engine refused or failed something of one job (an unknown image, a refused
    container, a failed query): that job fails with this message, the others go on."""


class NotSupported(SlipwayError):
    """This engine has no such capability; the message says what to use instead."""

    exit_code = EXIT_USAGE


class SecretMissing(SlipwayError):
    """A secret named in the config has no value in the environment."""

    exit_code = EXIT_USAGE


class ImageBuildFailed(SlipwayError):
    """A Dockerfile build failed; the message names the log with the whole output."""


class NoSpace(SlipwayError):
    """A disk the run writes to (the report directory) is full: the message names the
    path; the run ends with exit 1 after removing what it made."""
