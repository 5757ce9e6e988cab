"""Readiness commands on Dagger, where they run beside the service, not in it.

Dagger cannot exec into a running service, so a command readiness check runs in a
probe container bound to the service under its name. A command that names the
loopback (``pg_isready -h 127.0.0.1``) would probe the probe container itself and
never pass; each such host is rewritten to the service's name, and the job's log
says so and what to write instead (a service's name works on both engines: Docker
execs the check in the service container, where its own name resolves to itself).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A loopback host as a whole word: an argument of its own, or inside a URL/host:port.
_LOOPBACK = re.compile(
    r"(?<![\w.\-\[])(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0)(?![\w\-]|\.\w)|\[::1\]|(?<![\w:])::1(?![\w:])"
)


def names_loopback(command: Sequence[str]) -> bool:
    return any(_LOOPBACK.search(arg) for arg in command)


def probe_command(command: Sequence[str], service: str) -> tuple[tuple[str, ...], str | None]:
    """The command to run beside ``service``, and a note when a loopback host was rewritten."""
    if not names_loopback(command):
        return tuple(command), None
    rewritten = tuple(_LOOPBACK.sub(service, arg) for arg in command)
    note = (
        f"readiness of service {service}: `{' '.join(command)}` names the loopback, which on "
        f"Dagger is the probe container beside the service, not the service; ran "
        f"`{' '.join(rewritten)}` instead. Write `{' '.join(rewritten)}` in pipeline.yaml: "
        "the service's name works on both engines"
    )
    return rewritten, note
