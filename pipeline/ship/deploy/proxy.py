"""Slipway's per-environment TCP proxy; runs inside the proxy container (stdlib only).

The upstream (``host:port``) is read from a file for every new connection, so
a deploy switches traffic by replacing that file atomically: new connections go
to the new release, connections already open finish on the old one (it is
stopped only after they drain). Also the deploy's helper inside the container:
``--set-upstream`` (atomic replace) and ``--probe URL`` (a health check from
inside the environment's network, so it works on a remote DOCKER_HOST too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import urllib.request

ACTIVE: dict[str, int] = {}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


async def _handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, upstream_file: str) -> None:
    try:
        with open(upstream_file, encoding="utf-8") as fh:
            upstream = fh.read().strip()
        host, _, port = upstream.rpartition(":")
        up_r, up_w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
    except (TimeoutError, OSError, ValueError) as exc:
        print(f"no upstream: {exc!r}", file=sys.stderr, flush=True)
        client_w.close()
        return
    ACTIVE[upstream] = ACTIVE.get(upstream, 0) + 1
    try:
        await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
    finally:
        ACTIVE[upstream] -= 1
        for w in (up_w, client_w):
            w.close()


async def serve(listen: str, upstream_file: str) -> None:
    host, _, port = listen.rpartition(":")
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, upstream_file),
        host or "0.0.0.0",  # noqa: S104 (inside its own container)
        int(port),
        backlog=512,
    )
    async with server:
        await server.serve_forever()


def set_upstream(upstream_file: str, upstream: str) -> None:
    tmp = f"{upstream_file}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(upstream + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, upstream_file)  # atomic: a reader sees the old or the new, never half


def probe(url: str, timeout: float) -> int:
    if url.startswith("tcp://"):
        host, _, port = url[len("tcp://") :].rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout).close()
        except OSError as exc:
            print(f"{url}: {exc!r}", file=sys.stderr)
            return 1
        return 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (our own URL)
            return 0 if 200 <= resp.status < 300 else 1
    except Exception as exc:  # any failure is "not healthy"; say why
        print(f"{url}: {exc!r}", file=sys.stderr)
        return 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="0.0.0.0:8080")
    parser.add_argument("--upstream-file", default="/state/upstream")
    parser.add_argument("--set-upstream")
    parser.add_argument("--probe")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    if args.set_upstream:
        set_upstream(args.upstream_file, args.set_upstream)
        return 0
    if args.probe:
        return probe(args.probe, args.timeout)
    asyncio.run(serve(args.listen, args.upstream_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
