"""A Docker daemon of our own, to stop mid-run (issue 11, item 4: "the Docker daemon
stopped mid-run"): stopping the shared daemon would break everyone else's work on
the machine, so this one has its own data root, exec root, pidfile, socket under
/tmp, containerd namespaces and no default bridge, and the run points DOCKER_HOST at
it. The job image is copied in with ``docker save | docker load``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path("/tmp/slipway-trust-dockerd")
IMAGE = "slipway/python:3.11"


class OwnDaemon:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "dockerd.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "dockerd", "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                "--pidfile", str(self.root / "dockerd.pid"), "-H", self.host, "--bridge=none",
                "--iptables=false", "--ip-masq=false",
                "--containerd-namespace", "slipway-trust", "--containerd-plugins-namespace", "slipway-trust-p",
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "-H", self.host, "info"], capture_output=True, check=False).returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"our own dockerd did not start: see {self.root / 'dockerd.log'}")
            time.sleep(0.2)
        have = subprocess.run(["docker", "-H", self.host, "image", "inspect", IMAGE], capture_output=True, check=False)
        if have.returncode:
            save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
            subprocess.run(["docker", "-H", self.host, "load"], stdin=save.stdout, check=True, capture_output=True)
            save.wait()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stopped as a crash would stop it (SIGKILL): no graceful shutdown of its containers."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=60)

    def remove(self) -> None:
        """Start again (to clean what the killed one left), remove every container, stop."""
        self.start()
        ids = subprocess.run(["docker", "-H", self.host, "ps", "-aq"], capture_output=True, text=True, check=False)
        if ids.stdout.split():
            subprocess.run(["docker", "-H", self.host, "rm", "-f", *ids.stdout.split()], capture_output=True, check=False)
        subprocess.run(["docker", "-H", self.host, "network", "prune", "-f"], capture_output=True, check=False)
        self.stop(signal.SIGTERM)
        shutil.rmtree(self.root / "exec", ignore_errors=True)
