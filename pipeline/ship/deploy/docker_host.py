"""The ``docker`` deploy target: releases behind a per-environment proxy on one Docker host.

Per environment, long-lived and labelled apart from run objects (so neither the
run's cleanup nor ``gc`` touches them):
- a network ``slipway-env-<env>`` on which each release answers to its name;
- a proxy container publishing the environment's port, whose upstream is a file
  in the volume ``slipway-env-<env>`` (see ``proxy.py``);
- one container per live release (two during a switch).

A switch is one atomic file replace inside the proxy; the old release is
stopped only after open connections had time to drain.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
from docker import APIClient

from pipeline.engines.docker.errors import connect, docker_errors
from pipeline.engines.docker.execs import exec_output
from pipeline.engines.docker.images import ImageResolver, image_exists, pull
from pipeline.model.errors import SlipwayError

LABEL_ENV = "dev.slipway.deploy.env"  # distinct from dev.slipway.run: gc must not take these
LABEL_ROLE = "dev.slipway.deploy.role"  # proxy | release
LABEL_RELEASE = "dev.slipway.deploy.release"
LABEL_DIGEST = "dev.slipway.deploy.digest"
LABEL_PROXY_HASH = "dev.slipway.deploy.proxy-hash"

PROXY_SCRIPT = Path(__file__).with_name("proxy.py")
PROXY_PATH = "/opt/slipway/proxy.py"
PROXY_PORT = 8080
UPSTREAM_FILE = "/state/upstream"


class DeployFailed(SlipwayError):
    """The Docker host could not start or switch a release."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    name: str
    port: int  # published on the host
    proxy_image: str  # an image with python3, as pipeline.yaml names it (aliases apply)

    @property
    def network(self) -> str:
        return f"slipway-env-{self.name}"

    @property
    def volume(self) -> str:
        return f"slipway-env-{self.name}"

    @property
    def proxy(self) -> str:
        return f"slipway-{self.name}-proxy"


def _proxy_hash() -> str:
    return hashlib.sha256(PROXY_SCRIPT.read_bytes()).hexdigest()[:12]


class DockerHost:
    """Blocking docker-py calls; the deploy stage runs them in a worker thread."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client or connect()
        self.api: APIClient = self._client.api
        # The proxy's and the services' images go through the alias policy, as a job's do.
        self.images = ImageResolver(aliases or {}, announce=say)

    def close(self) -> None:
        self._client.close()

    # -- the environment --------------------------------------------------

    def ensure_environment(self, env: Environment) -> None:
        """Network, volume and a running proxy on ``env.port`` (recreated if its script changed)."""
        labels = {LABEL_ENV: env.name}
        with docker_errors(f"prepare environment {env.name}"):
            if not self.api.networks(names=[env.network]):
                self.api.create_network(env.network, driver="bridge", labels=labels, check_duplicate=True)
            try:
                self.api.inspect_volume(env.volume)
            except docker.errors.NotFound:
                self.api.create_volume(env.volume, labels=labels)
            info = self._inspect(env.proxy)
            if info is not None:
                same = info["Config"]["Labels"].get(LABEL_PROXY_HASH) == _proxy_hash()
                if same and info["State"]["Running"]:
                    return
                if same:
                    self.api.start(env.proxy)
                    return
                # A new Slipway's proxy script: replace the proxy (a moment without it).
                self.api.remove_container(env.proxy, force=True)
            host_config = self.api.create_host_config(
                port_bindings={PROXY_PORT: env.port},
                binds=[f"{env.volume}:/state:rw"],
                network_mode=env.network,
                restart_policy={"Name": "unless-stopped"},
                init=True,
            )
            created = self.api.create_container(
                self.images.choose(self.api, env.proxy_image),
                command=["python3", "-u", PROXY_PATH, "--listen", f"0.0.0.0:{PROXY_PORT}"],
                name=env.proxy,
                labels={**labels, LABEL_ROLE: "proxy", LABEL_PROXY_HASH: _proxy_hash()},
                host_config=host_config,
                ports=[PROXY_PORT],
            )
            self.api.put_archive(created["Id"], "/", _script_tar())
            try:
                self.api.start(created["Id"])
            except docker.errors.APIError as exc:
                self.api.remove_container(created["Id"], force=True)
                raise DeployFailed(
                    f"the {env.name} proxy could not publish port {env.port}: {exc.explanation or exc}; "
                    "is the port taken by something else?"
                ) from exc

    def ensure_service(
        self, env: Environment, name: str, image: str, environment: dict[str, str], command: list[str]
    ) -> bool:
        """A long-lived service of the environment (its database), started unless running;
        True if it was started now."""
        cname = f"slipway-{env.name}-{name}"
        with docker_errors(f"start service {name} of {env.name}"):
            info = self._inspect(cname)
            if info is not None and info["State"]["Running"]:
                return False
            if info is not None:
                self.api.start(cname)
                return True
            created = self.api.create_container(
                self.images.choose(self.api, image),
                name=cname,
                command=command or None,
                environment=environment,
                labels={LABEL_ENV: env.name, LABEL_ROLE: "service"},
                host_config=self.api.create_host_config(
                    network_mode=env.network, restart_policy={"Name": "unless-stopped"}, init=True
                ),
                networking_config=self.api.create_networking_config(
                    cast(Any, {env.network: self.api.create_endpoint_config(aliases=[name])})
                ),
            )
            self.api.start(created["Id"])
            return True

    def upstream(self, env: Environment) -> str | None:
        code, out = self._exec(env.proxy, ["cat", UPSTREAM_FILE])
        return out.strip() if code == 0 and out.strip() else None

    def switch(self, env: Environment, upstream: str) -> None:
        code, out = self._exec(
            env.proxy, ["python3", PROXY_PATH, "--upstream-file", UPSTREAM_FILE, "--set-upstream", upstream]
        )
        if code != 0:
            raise DeployFailed(f"could not switch {env.name} to {upstream}: {out.strip()}")

    def probe(self, env: Environment, url: str, timeout_s: float) -> tuple[bool, str]:
        """A health check from inside the environment's network (the proxy runs it)."""
        code, out = self._exec(
            env.proxy, ["python3", PROXY_PATH, "--probe", url, "--timeout", str(timeout_s)]
        )
        return code == 0, out.strip()

    # -- releases -----------------------------------------------------------

    def ensure_image(self, ref: str) -> None:
        """The release image, pulled (by digest when it names one) unless the daemon has it."""
        if not image_exists(self.api, ref):
            pull(self.api, ref)

    def start_release(
        self,
        env: Environment,
        *,
        name: str,
        image: str,
        release_id: str,
        digest: str,
        environment: dict[str, str],
    ) -> str:
        """Start a release container beside the live one (no published port: the proxy fronts it)."""
        self.ensure_image(image)
        with docker_errors(f"start release {name}"):
            if self._inspect(name) is not None:
                self.api.remove_container(name, force=True)
            created = self.api.create_container(
                image,
                name=name,
                environment=environment,
                labels={
                    LABEL_ENV: env.name,
                    LABEL_ROLE: "release",
                    LABEL_RELEASE: release_id,
                    LABEL_DIGEST: digest,
                },
                host_config=self.api.create_host_config(
                    network_mode=env.network, restart_policy={"Name": "unless-stopped"}, init=True
                ),
                networking_config=self.api.create_networking_config(
                    cast(Any, {env.network: self.api.create_endpoint_config(aliases=[name])})
                ),
            )
            self.api.start(created["Id"])
            return str(created["Id"])

    def running(self, name: str) -> bool:
        info = self._inspect(name)
        return bool(info and info["State"]["Running"])

    def stop_release(self, name: str, *, grace_s: int = 10) -> None:
        """SIGTERM (the app finishes in-flight requests), then remove."""
        with docker_errors(f"stop release {name}"):
            if self._inspect(name) is None:
                return
            try:
                self.api.stop(name, timeout=grace_s)
            except docker.errors.NotFound:
                return
            self.api.remove_container(name, force=True)

    def releases(self, env: str) -> list[dict[str, Any]]:
        with docker_errors("list releases"):
            found = self.api.containers(
                all=True, filters={"label": [f"{LABEL_ENV}={env}", f"{LABEL_ROLE}=release"]}
            )
        return list(found)

    def logs(self, name: str, tail: int = 30) -> str:
        with docker_errors(f"read logs of {name}"):
            try:
                raw = self.api.logs(name, tail=tail)
            except docker.errors.NotFound:
                return ""
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)

    def remove_environment(self, env: Environment) -> None:
        """Everything of an environment (tests, and a future ``slipway env rm``)."""
        with docker_errors(f"remove environment {env.name}"):
            for c in self.api.containers(all=True, filters={"label": f"{LABEL_ENV}={env.name}"}):
                self.api.remove_container(c["Id"], force=True)
            for n in self.api.networks(names=[env.network]):
                self.api.remove_network(n["Id"])
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_volume(env.volume, force=True)

    # -- helpers --------------------------------------------------------------

    def _inspect(self, name: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], self.api.inspect_container(name))
        except docker.errors.NotFound:
            return None

    def _exec(self, container: str, argv: list[str]) -> tuple[int, str]:
        with docker_errors(f"exec in {container}"):
            return exec_output(self.api, container, argv)


def _script_tar() -> bytes:
    data = PROXY_SCRIPT.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(PROXY_PATH.lstrip("/"))
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
