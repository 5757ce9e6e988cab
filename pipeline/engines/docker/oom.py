"""Whether the kernel's OOM killer ended a job's command (exit code 137).

A job's commands are exec'd into a container whose own process (``sleep``) lives
on, so the container does not stop when a command is killed: Docker 20.10 sets
``State.OOMKilled`` only when a container stops, newer daemons also when one of its
processes is killed. Both are asked: the state first, then the daemon's ``oom``
event for the container, which every version sends (it can come a moment after the
exec's exit, so the events are followed for up to ``EVENT_WAIT_S``). Blocking: run it
in a thread. Only a failed job with exit code 137 pays for the look.
"""

from __future__ import annotations

import math
import signal
import time

from docker import APIClient

from pipeline.engines.docker.errors import close_stream

SIGKILL_EXIT = 128 + signal.SIGKILL
EVENT_WAIT_S = 1.5


def oom_killed(api: APIClient, cid: str, *, wait_s: float = EVENT_WAIT_S) -> bool:
    """True when the OOM killer killed a process of container ``cid``."""
    state = api.inspect_container(cid).get("State") or {}
    if state.get("OOMKilled"):
        return True
    # since=1: every buffered event of this container (it is minutes old at most);
    # until a moment ahead (whole seconds): the stream waits for an event still on
    # its way, then ends.
    until = math.ceil(time.time() + wait_s)
    events = api.events(since=1, until=until, filters={"container": cid, "event": "oom"}, decode=True)
    try:
        for event in events:
            if event.get("Action") == "oom" or event.get("status") == "oom":
                return True
    finally:
        close_stream(events)
    return False
