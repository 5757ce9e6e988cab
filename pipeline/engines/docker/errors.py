"""The one place where docker-py and requests errors become Slipway's errors.

Everything that talks to the daemon runs inside ``docker_errors(...)`` (or ``call``):
a daemon that cannot be reached is ``EngineUnavailable`` (the run stops, exit 2);
anything the daemon answers with (an unknown image, a refused create, an API
error) is ``EngineJobError``: the job that asked fails, with a message that says
what to do, and the other jobs go on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
import docker
import docker.errors
import requests.exceptions
from docker.types import CancellableStream

from pipeline.model.errors import EngineJobError, EngineUnavailable, SlipwayError

# Streams (exec output, builds) may be silent for minutes; reads must not time out.
CLIENT_TIMEOUT_S = 900

DEFAULT_SOCKET = "unix:///var/run/docker.sock"

P = ParamSpec("P")
T = TypeVar("T")


def daemon_help(environ: Mapping[str, str] | None = None) -> str:
    host = (os.environ if environ is None else environ).get("DOCKER_HOST")
    where = f"DOCKER_HOST={host}" if host else "the local socket /var/run/docker.sock"
    return (
        f"cannot reach the Docker daemon at {where}: start it "
        "(`dockerd > /tmp/dockerd.log 2>&1 &` or `systemctl start docker`), "
        "or set DOCKER_HOST to a reachable daemon"
    )


def missing_image_help(ref: str, logical: str | None = None) -> str:
    named = f"{logical} (-> {ref})" if logical and logical != ref else ref
    return (
        f"image {named} is not present locally and cannot be pulled: "
        "run `python -m pipeline images bootstrap` to build the base images, "
        f"or map it to a local image under `images:` (aliases) in pipeline.yaml"
    )


def translate(  # noqa: PLR0911  one return per kind of error: the map reads as a table
    exc: BaseException, what: str, environ: Mapping[str, str] | None = None
) -> SlipwayError | None:
    """Our error for a docker-py/requests exception, or None if it is not theirs."""
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | ConnectionError):
        return EngineUnavailable(daemon_help(environ))
    if isinstance(exc, docker.errors.ImageNotFound):
        return EngineJobError(f"{what}: {missing_image_help(_explain(exc))}")
    if isinstance(exc, docker.errors.APIError):
        return EngineJobError(f"docker refused to {what}: {_explain(exc)}")
    if isinstance(exc, docker.errors.DockerException):
        # from_env() raises a bare DockerException when the socket is not there.
        text = str(exc)
        if "Error while fetching server API version" in text or "Connection" in text:
            return EngineUnavailable(daemon_help(environ))
        return EngineJobError(f"docker could not {what}: {text}")
    if isinstance(exc, requests.exceptions.RequestException):
        return EngineJobError(f"docker could not {what}: {exc}")
    return None


@contextmanager
def docker_errors(what: str, environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run a block of daemon calls; ``what`` names the operation in the message."""
    try:
        yield
    except SlipwayError:
        raise
    except Exception as exc:
        ours = translate(exc, what, environ)
        if ours is None:
            raise
        raise ours from exc


def connect(timeout: int = CLIENT_TIMEOUT_S, environ: Mapping[str, str] | None = None) -> docker.DockerClient:
    """A client for the daemon DOCKER_HOST names (or the local socket), checked with a ping.

    ``environ`` replaces os.environ for DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH.
    """
    _check_unix_socket(environ)
    with docker_errors("connect", environ):
        client = docker.DockerClient.from_env(
            timeout=timeout, environment=None if environ is None else dict(environ)
        )
        client.ping()
    return client


def _explain(exc: docker.errors.DockerException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    return str(exc)


async def call(what: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking docker-py call in a worker thread, translating its errors."""

    def work() -> T:
        with docker_errors(what):
            return fn(*args, **kwargs)

    return await anyio.to_thread.run_sync(work)


async def call_long(what: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Like ``call`` for a stream that lasts as long as a job (exec output, a build).

    It gets its own thread outside anyio's shared limiter, so many running jobs
    cannot starve short calls; on cancellation the thread is abandoned, and ends
    when the caller's cleanup removes the container whose stream it reads.
    """

    def work() -> T:
        with docker_errors(what):
            return fn(*args, **kwargs)

    return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1))


def close_stream(stream: CancellableStream[Any]) -> None:
    """Really close an exec stream's hijacked socket.

    ``CancellableStream.close`` closes the socket object, but the response's
    file wrapper still holds a reference, so the descriptor stays open (and
    Python warns) until the response is closed too.
    """
    stream.close()
    response = getattr(stream, "_response", None)
    if response is not None:
        response.close()


def _check_unix_socket(environ: Mapping[str, str] | None) -> None:
    """Fail fast on a local socket nobody listens on.

    docker-py leaks the socket of a failed first connection (a ResourceWarning,
    an error under ``-W error``); probing it ourselves closes it properly.
    """
    host = (os.environ if environ is None else environ).get("DOCKER_HOST") or DEFAULT_SOCKET
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect(host.removeprefix("unix://"))
        except OSError as exc:
            raise EngineUnavailable(daemon_help(environ)) from exc
