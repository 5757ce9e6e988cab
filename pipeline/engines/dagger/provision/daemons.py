"""The runner-side processes the engine relies on: the mirror registry and the forwarders.

The engine runs in a container, where 127.0.0.1 is the engine itself. What the runner
serves on its loopback (its registry on localhost:5000, the mirror registry) is made
reachable from containers at the Docker bridge's gateway address by a ``socat``
forwarder bound to that address only (not to the runner's other networks), and the
engine container forwards its own 127.0.0.1:PORT there (see image/dagger-entrypoint.sh).

Each process is started detached, with its pid and log under the cache root, and only
when nothing answers on its address yet: a second start finds them and says so.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

from pipeline.engines.dagger.provision.layout import Layout
from pipeline.engines.dagger.provision.proc import ProvisionError, Steps

CONNECT_TIMEOUT_S = 1.0
START_WAIT_S = 15.0
DEFAULT_GATEWAY = "172.17.0.1"

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def bridge_gateway() -> str:
    """The address containers on Docker's default bridge reach the runner at."""
    proc = subprocess.run(
        ["docker", "network", "inspect", "bridge", "-f", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return DEFAULT_GATEWAY
    for cfg in json.loads(proc.stdout or "[]") or []:
        if cfg.get("Gateway"):
            return str(cfg["Gateway"])
        if cfg.get("Subnet"):  # the daemon's default: the subnet's first address
            return str(next(ipaddress.ip_network(cfg["Subnet"]).hosts()))
    return DEFAULT_GATEWAY


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _start(steps: Steps, argv: list[str], run_dir: Path, host: str, port: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "log"
    with log.open("ab") as out:
        proc = subprocess.Popen(  # a daemon: it outlives this command on purpose
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    (run_dir / "pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if answers(host, port):
            steps.info(f"started {argv[0]} (pid {proc.pid}) on {host}:{port}; log {log}")
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise ProvisionError(f"{' '.join(argv)} did not answer on {host}:{port}; see {log}")


def need(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise ProvisionError(f"{tool} is missing: apt-get install -y {package} (scripts/setup-machine does)")
    return found


def ensure_mirror_registry(steps: Steps, layout: Layout, port: int) -> None:
    """A plain-HTTP registry on 127.0.0.1:``port``: the engine's docker.io mirror."""
    if answers("127.0.0.1", port):
        steps.skip(f"a registry answers on 127.0.0.1:{port}")
        return
    binary = need("docker-registry", "docker-registry")
    run_dir = layout.registry_dir
    (run_dir / "data").mkdir(parents=True, exist_ok=True)
    config = run_dir / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(data=run_dir / "data", port=port))
    _start(steps, [binary, "serve", str(config)], run_dir, "127.0.0.1", port)


def ensure_forwarder(steps: Steps, layout: Layout, gateway: str, port: int) -> None:
    """``gateway:port`` forwarded to the runner's 127.0.0.1:``port`` (for containers)."""
    if answers(gateway, port):
        steps.skip(f"{gateway}:{port} answers already")
        return
    if not answers("127.0.0.1", port):
        steps.info(f"nothing answers on 127.0.0.1:{port} yet; forwarding {gateway}:{port} to it anyway")
    socat = need("socat", "socat")
    argv = [socat, f"TCP-LISTEN:{port},bind={gateway},reuseaddr,fork", f"TCP:127.0.0.1:{port}"]
    _start(steps, argv, layout.forward_dir / str(port), gateway, port)
