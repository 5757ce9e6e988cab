"""Exec a command in a running container and wait for its exit code.

The code is set when the process is reaped, just after its output stream ends, so
the exec is inspected until it stops running; ``pipeline.model.execs`` says what
the record means (a missing code is a failure). Blocking: run it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from docker import APIClient

from pipeline.engines.docker.errors import close_stream
from pipeline.model.execs import EXIT_UNKNOWN, exit_code

POLL_S = 0.05
POLL_TRIES = 100  # 5 s for a reaped process to get its code


def wait_exit(api: APIClient, exec_id: str) -> int:
    """The exec's exit code once it has stopped; ``EXIT_UNKNOWN`` if it never says."""
    for _ in range(POLL_TRIES):
        code = exit_code(api.exec_inspect(exec_id))
        if code is not None:
            return code
        time.sleep(POLL_S)
    return EXIT_UNKNOWN


def exec_stream(
    api: APIClient,
    container: str,
    argv: Sequence[str],
    on_chunk: Callable[[bytes], None],
    *,
    on_stderr: Callable[[bytes], None] | None = None,
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
    user: str = "",
) -> int:
    """Run ``argv`` in ``container``, feeding its output to ``on_chunk``; its exit code.

    With ``on_stderr``, stderr goes there and stdout alone to ``on_chunk``: each
    stream is then split into lines of its own, so a line written to one can never
    land in the middle of a line being written to the other.
    """
    exec_id = api.exec_create(
        container,
        list(argv),
        environment=environment or None,
        workdir=workdir,
        user=user,
        stdout=True,
        stderr=True,
    )["Id"]
    if on_stderr is None:
        output = api.exec_start(exec_id, stream=True)
        try:
            for chunk in output:
                on_chunk(chunk)
        finally:
            close_stream(output)
    else:
        split = api.exec_start(exec_id, stream=True, demux=True)
        try:
            for out, err in split:  # demultiplexed: one of the two is None
                if out:
                    on_chunk(out)
                if err:
                    on_stderr(err)
        finally:
            close_stream(split)
    return wait_exit(api, exec_id)


def exec_output(api: APIClient, container: str, argv: Sequence[str]) -> tuple[int, str]:
    """Run ``argv`` in ``container``; (exit code, its output as text)."""
    chunks: list[bytes] = []
    code = exec_stream(api, container, argv, chunks.append)
    return code, b"".join(chunks).decode("utf-8", errors="replace")
