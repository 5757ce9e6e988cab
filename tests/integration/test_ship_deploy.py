"""Deploys on the real Docker Engine: a switch that loses no request, and a broken
release rolled back on its own (the fixture app in tests/fixtures/shipapp)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from registry_server import free_port

from pipeline.ship.deploy.docker_host import DockerHost, Environment
from pipeline.ship.releases import ReleaseStore

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "shipapp"

PIPELINE = """\
project: {{name: shipapp}}
images:
  bake: docker-bake.hcl
  aliases: {{python:3.11-slim: slipway/python:3.11}}
stages:
  - {{name: build, kind: build, targets: [web], push: false}}
  - name: deploy
    kind: deploy
    needs: [build]
    environment: {env}
    images: [web]
    port: {port}
    drain_s: 1
    health: {{http: "http://127.0.0.1:{port}/health", retries: 10, interval_s: 0.3, timeout_s: 2}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    env, port = f"t{uuid.uuid4().hex[:8]}", free_port()
    shutil.copytree(FIXTURE, tmp_path / "app")
    (tmp_path / "app" / "pipeline.yaml").write_text(PIPELINE.format(env=env, port=port))
    yield tmp_path / "app", env, port
    host = DockerHost()
    host.remove_environment(Environment(name=env, port=port, proxy_image="slipway/python:3.11"))
    for img in host.api.images(name="slipway-test/shipapp"):
        for tag in img.get("RepoTags") or []:
            if tag.startswith("slipway-test/shipapp:"):
                host.api.remove_image(tag, force=True)
    host.close()


def run(project: Path, version: str, healthy: str = "1") -> tuple[int, dict[str, object]]:
    env = {**os.environ, "APP_VERSION": version, "APP_HEALTHY": healthy, "GIT_SHA": f"{version}" * 40}
    report = project / f"report-{version}"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--engine", "docker", "--report-dir", str(report)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (report / "report.json").is_file(), proc.stdout + proc.stderr
    return proc.returncode, json.loads((report / "report.json").read_text())


def answer(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def test_switch_loses_no_request_and_broken_release_is_rolled_back(project: tuple[Path, str, int]) -> None:
    path, env, port = project
    code, _ = run(path, "1")
    assert code == 0
    assert answer(port) == "version 1"

    # A client polls through the whole second deploy: every request must succeed.
    results: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    resp = client.get(f"http://127.0.0.1:{port}/")
                    if resp.status_code == 200:
                        results.append(resp.text)
                    else:
                        failures.append(f"HTTP {resp.status_code}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        code, report = run(path, "2")
        # A few requests after the switch (polled with a deadline), so the last one is version 2.
        seen, deadline = len(results), time.monotonic() + 30
        while len(results) < seen + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        poller.join()
    assert code == 0
    assert failures == []
    assert results[0] == "version 1" and results[-1] == "version 2"
    assert len(results) > 50
    deploy = next(j for j in report["jobs"] if j["name"] == "deploy")  # type: ignore[index, union-attr]
    print(f"polled {len(results)} requests, 0 failed; switch {deploy['switch_s']}s")
    assert sorted(DockerHost().releases(env)[0]["Names"]) == [f"/slipway-{env}-{deploy['release']}"]

    # A release whose health check fails: the run fails, version 2 still answers.
    code, report = run(path, "3", healthy="0")
    assert code == 1
    assert answer(port) == "version 2"
    history = ReleaseStore(path).history(env)
    assert [r.result for r in history] == ["success", "success", "failed"]
    assert history[-1].rolled_back_to == history[1].id
    assert "health check failed" in history[-1].detail
    assert ReleaseStore(path).current(env) == history[1]
    assert len(DockerHost().releases(env)) == 1  # the broken one was removed
