"""The engine container: its settings (engine.json), its privileges, and starting it.

The container is recreated only when its image, settings or flags change (a digest of
them is a label); it is always stopped gracefully first (``docker stop -t 60``): an
engine killed with SIGKILL wipes its cache on the next start. Its labels tell a run
where the matching CLI is and which mirror it uses, so a run finds everything from the
container alone (``engines/dagger/connection.py``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.engines.dagger.provision.layout import (
    BASE_IMAGE,
    CONTAINER,
    LABEL_CLI,
    LABEL_MIRROR,
    LABEL_RUN_HASH,
    LABEL_VERSION,
    VOLUME,
    Layout,
)
from pipeline.engines.dagger.provision.proc import ProvisionError, Steps

STOP_TIMEOUT_S = 60
ANSWER_TIMEOUT_S = 120
# `--privileged` needs every capability the daemon has; a daemon without one (here:
# CAP_SYS_RESOURCE) fails to start such a container, so grant what it grants, minus that.
PRIVILEGED_FALLBACK = (
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "systempaths=unconfined",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    """How the engine reaches the runner: the bridge gateway, the mirror registry's port,
    the runner's loopback ports it forwards, and its own tcp:// port (None: none)."""

    gateway: str
    mirror_port: int
    forward_ports: tuple[int, ...]
    tcp_port: int | None


def engine_settings(gateway: str, mirror_port: int) -> dict[str, object]:
    """engine.json: docker.io through the mirror (plain HTTP, by its own entry: a mirror
    without one inherits docker.io's settings, i.e. HTTPS)."""
    mirror = f"{gateway}:{mirror_port}"
    return {
        "logLevel": "info",
        "registries": {"docker.io": {"mirrors": [mirror]}, mirror: {"http": True}},
    }


@functools.cache
def privilege_flags() -> tuple[str, ...]:
    probe = subprocess.run(
        ["docker", "run", "--rm", "--privileged", BASE_IMAGE, "true"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return ("--privileged",)
    fuse = ("--device", "/dev/fuse") if Path("/dev/fuse").exists() else ()
    return (*PRIVILEGED_FALLBACK, *fuse)


def run_argv(layout: Layout, net: Network, labels: dict[str, str]) -> list[str]:
    """``docker run`` for the engine."""
    forward = " ".join(f"{p}={net.gateway}:{p}" for p in net.forward_ports)
    all_labels = {
        LABEL_VERSION: layout.version,
        LABEL_CLI: str(layout.cli),
        LABEL_MIRROR: f"127.0.0.1:{net.mirror_port}",
        **labels,
    }
    argv = [
        "docker",
        "run",
        "-d",
        "--name",
        CONTAINER,
        "--restart",
        "unless-stopped",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        *privilege_flags(),
        "-v",
        f"{VOLUME}:/var/lib/dagger",
        "-v",
        f"{layout.engine_json}:/etc/dagger/engine.json:ro",
        "-e",
        f"SLIPWAY_FORWARD={forward}",
    ]
    for key, value in all_labels.items():
        argv += ["--label", f"{key}={value}"]
    if net.tcp_port:
        argv += ["-p", f"127.0.0.1:{net.tcp_port}:1234"]
    argv.append(layout.image)
    # --addr adds a listener; the unix sockets docker-container:// uses stay.
    if net.tcp_port:
        argv += ["--addr", "tcp://0.0.0.0:1234"]
    return argv


def container_state() -> tuple[str, bool] | None:
    """(run digest label, running) of the engine container, None if there is none."""
    proc = subprocess.run(
        [
            "docker",
            "inspect",
            "-f",
            f'{{{{index .Config.Labels "{LABEL_RUN_HASH}"}}}} {{{{.State.Running}}}}',
            CONTAINER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    label, _, running = proc.stdout.strip().rpartition(" ")
    return label, running == "true"


def image_id(ref: str) -> str:
    proc = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def start_container(steps: Steps, layout: Layout, net: Network, *, force: bool = False) -> None:
    settings = json.dumps(engine_settings(net.gateway, net.mirror_port), indent=2, sort_keys=True) + "\n"
    layout.engine_json.parent.mkdir(parents=True, exist_ok=True)
    if not layout.engine_json.is_file() or layout.engine_json.read_text() != settings:
        layout.engine_json.write_text(settings)
    argv = run_argv(layout, net, {})
    digest = hashlib.sha256("\n".join([image_id(layout.image), settings, *argv]).encode()).hexdigest()[:16]
    state = container_state()
    if not force and state == (digest, True):
        steps.skip(f"{CONTAINER} is running and up to date ({digest})")
        return
    if state is not None:
        steps.run(["docker", "stop", "-t", str(STOP_TIMEOUT_S), CONTAINER], echo=False)
        steps.run(["docker", "rm", CONTAINER], echo=False)
    steps.run(run_argv(layout, net, {LABEL_RUN_HASH: digest}), echo=False)


def wait_until_answers(steps: Steps, layout: Layout, timeout_s: float = ANSWER_TIMEOUT_S) -> str:
    """Query the engine's version with the CLI until it answers; returns it."""
    env = {"_EXPERIMENTAL_DAGGER_RUNNER_HOST": f"docker-container://{CONTAINER}", **QUIET_ENV}
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            [str(layout.cli), "query", "--progress=plain"],
            input="{ version }",
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            version = str(json.loads(proc.stdout)["version"])
            steps.info(f"the engine answers: {version}")
            return version
        lines = proc.stderr.strip().splitlines()
        last = lines[-1] if lines else f"exit {proc.returncode}"
        time.sleep(1)
    logs = subprocess.run(
        ["docker", "logs", "--tail", "30", CONTAINER], capture_output=True, text=True, check=False
    )
    raise ProvisionError(
        f"the engine in {CONTAINER} does not answer after {timeout_s:.0f}s ({last}); its log:\n"
        + (logs.stdout + logs.stderr)[-3000:]
    )


# The CLI's calls home, which nothing here reaches anyway: off.
QUIET_ENV = {"DAGGER_NO_UPDATE_CHECK": "1", "DO_NOT_TRACK": "1", "DAGGER_NO_NAG": "1", "NO_COLOR": "1"}
