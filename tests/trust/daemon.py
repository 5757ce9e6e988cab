"""A Docker daemon of our own, to stop mid-run (issue 11, item 4: "the Docker daemon
stopped mid-run"): stopping the shared daemon would break everyone else's work on
the machine, so this one has its own data root, exec root, pidfile, socket under
/tmp, containerd namespaces and a bridge of its own, and the run points DOCKER_HOST at
it. Never ``--bridge=none``: a dockerd started so deletes the host's ``docker0``
(moby's daemon_unix.go removes the default bridge interface when the bridge is
disabled), which breaks every container of the shared daemon. The job image is copied in with ``docker save | docker load``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path("/tmp/slipway-trust-dockerd")
BRIDGE = "slipway-trust0"  # at most 15 characters: a Linux interface name
BRIDGE_CIDR = "172.31.254.1/24"
IMAGE = "slipway/python:3.11"


class OwnDaemon:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pidfile = root / "dockerd.pid"

    def pid(self) -> int | None:
        """The daemon's pid from its pidfile, if that process is alive (it may be one an
        earlier run of this driver left: it is reused, and stopped by its pid)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.pid() is None:
            self._spawn()
        self._wait_and_load()

    def _bridge(self) -> None:
        """The bridge our daemon uses, made once (dockerd uses an existing bridge by name)."""
        if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True, check=False).returncode == 0:
            return
        for args in (
            ["ip", "link", "add", BRIDGE, "type", "bridge"],
            ["ip", "addr", "add", BRIDGE_CIDR, "dev", BRIDGE],
            ["ip", "link", "set", BRIDGE, "up"],
        ):
            subprocess.run(args, check=True, capture_output=True)

    def _spawn(self) -> None:
        self._bridge()
        with (self.root / "dockerd.log").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [
                    "dockerd",
                    "--data-root",
                    str(self.root / "data"),
                    "--exec-root",
                    str(self.root / "exec"),
                    "--pidfile",
                    str(self.root / "dockerd.pid"),
                    "-H",
                    self.host,
                    f"--bridge={BRIDGE}",
                    "--iptables=false",
                    "--ip-masq=false",
                    "--containerd-namespace",
                    "slipway-trust",
                    "--containerd-plugins-namespace",
                    "slipway-trust-p",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_and_load(self) -> None:
        deadline = time.monotonic() + 60
        while subprocess.run(
            ["docker", "-H", self.host, "info"], capture_output=True, check=False
        ).returncode:
            if (self.proc is not None and self.proc.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"our own dockerd did not start: see {self.root / 'dockerd.log'}")
            time.sleep(0.2)
        have = subprocess.run(
            ["docker", "-H", self.host, "image", "inspect", IMAGE], capture_output=True, check=False
        )
        if have.returncode:
            save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "-H", self.host, "load"], stdin=save.stdout, check=True, capture_output=True
            )
            save.wait()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stopped as a crash would stop it (SIGKILL): no graceful shutdown of its containers."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError("our own dockerd is not running: nothing to stop")
        os.kill(pid, sig)
        deadline = time.monotonic() + 60
        while self.pid() == pid and time.monotonic() < deadline:
            if self.proc is not None and self.proc.pid == pid:
                self.proc.wait(timeout=60)  # our child: reap it
            time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)

    def _stop_orphan_containerd(self) -> None:
        """A dockerd killed by SIGKILL leaves its containerd running; the next dockerd then
        finds it "still running" by its pidfile and times out waiting on its socket. Stop
        it (the shims and their containers stay; the next daemon reattaches them)."""
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pidfile.unlink(missing_ok=True)
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)

    def remove(self) -> None:
        """Start again (to clean what the killed one left), remove every container, stop."""
        if self.pid() is None:
            self._stop_orphan_containerd()
        self.start()
        ids = subprocess.run(
            ["docker", "-H", self.host, "ps", "-aq"], capture_output=True, text=True, check=False
        )
        if ids.stdout.split():
            subprocess.run(
                ["docker", "-H", self.host, "rm", "-f", *ids.stdout.split()], capture_output=True, check=False
            )
        subprocess.run(
            ["docker", "-H", self.host, "network", "prune", "-f"], capture_output=True, check=False
        )
        self.stop(signal.SIGTERM)
        shutil.rmtree(self.root / "exec", ignore_errors=True)
