"""A real OCI registry for tests: Debian's ``docker-registry`` on a free localhost port.

Started by the tests themselves (``.ci/run`` starts nothing extra): storage in a
temporary directory, plain HTTP on 127.0.0.1, which the Docker daemon treats as
an insecure registry by default (no daemon configuration needed).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass(frozen=True, slots=True)
class RegistryServer:
    host: str  # "localhost:PORT", as image references name it
    port: int
    storage: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def registry_server(timeout_s: float = 20.0) -> Iterator[RegistryServer]:
    """Start a registry, wait until /v2/ answers, stop it and delete its storage after."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: apt-get install docker-registry")
    tmp = Path(tempfile.mkdtemp(prefix="slipway-registry-"))
    port = free_port()
    (tmp / "config.yml").write_text(CONFIG.format(root=tmp / "data", port=port), encoding="utf-8")
    log = (tmp / "registry.log").open("wb")
    proc = subprocess.Popen(
        [binary, "serve", str(tmp / "config.yml")], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not start: {(tmp / 'registry.log').read_text()}")
            time.sleep(0.1)
        # "localhost:PORT": the daemon pushes to localhost registries over plain HTTP.
        yield RegistryServer(host=f"localhost:{port}", port=port, storage=tmp / "data")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
