"""The example's ship stages end to end on the Docker engine, with a real local registry:
both images built (tagged by commit), pushed, scanned, deployed to staging, checked,
promoted to production by digest. Test stages are left out (their own e2e covers them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from pipeline.ship.deploy.docker_host import LABEL_DIGEST, DockerHost, Environment
from pipeline.ship.registry import RegistryClient
from pipeline.ship.releases import ReleaseStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import anyio
from registry_server import RegistryServer, free_port, registry_server

REPO = Path(__file__).resolve().parents[2]
SHIP_KINDS = {"build", "scan", "deploy"}


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryServer]:
    with registry_server() as server:
        yield server


def ship_pipeline(tmp: Path, envs: dict[str, str], ports: dict[int, int]) -> Path:
    """The repo's pipeline.yaml with only the ship stages, its own environment names and ports."""
    data = yaml.safe_load((REPO / "pipeline.yaml").read_text())
    data["project"]["root"] = str(REPO / data["project"]["root"])
    data["images"]["bake"] = str(REPO / data["images"]["bake"])
    keep = [s for s in data["stages"] if s["kind"] in SHIP_KINDS]
    text = yaml.safe_dump({**data, "stages": keep})
    for old, new in [*envs.items(), *((str(a), str(b)) for a, b in ports.items())]:
        text = text.replace(old, new)
    out = yaml.safe_load(text)
    names = {s["name"] for s in out["stages"]}
    for stage in out["stages"]:
        stage["needs"] = [n for n in stage.get("needs", []) if n in names]
    (tmp / "pipeline.yaml").write_text(yaml.safe_dump(out))
    return tmp / "pipeline.yaml"


def test_ship_stages_go_green_and_production_runs_stagings_digest(
    tmp_path: Path, registry: RegistryServer
) -> None:
    suffix = os.urandom(3).hex()
    envs = {"staging": f"stg{suffix}", "production": f"prd{suffix}"}
    ports = {18081: free_port(), 18082: free_port()}
    config = ship_pipeline(tmp_path, envs, ports)
    sha = "e2e" + os.urandom(18).hex()[:37]
    env = {**os.environ, "SLIPWAY_REGISTRY": registry.host, "GIT_SHA": sha}
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "run",
                "--engine",
                "docker",
                "--config",
                str(config),
                "--report-dir",
                str(tmp_path / "report"),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        report = json.loads((tmp_path / "report" / "report.json").read_text())
        jobs = {j["name"]: j for j in report["jobs"]}
        assert {n: j["status"] for n, j in jobs.items()} == dict.fromkeys(jobs, "success")

        # Tags carry the commit; the digest is what the registry stored.
        backend = jobs["build-backend"]["images"]["backend"]
        assert backend["tags"] == [f"{registry.host}/inventory-backend:{sha}"]
        assert jobs["build-frontend"]["images"]["frontend"]["digest"].startswith("sha256:")
        assert "scanners" in jobs["scan-images"] and "findings" in jobs["scan-deps"]

        # Both environments answer, and production runs staging's digest, promoted not rebuilt.
        for port in ports.values():
            resp = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            assert resp.status_code == 200, resp.text
        staging = ReleaseStore(tmp_path).current(envs["staging"])
        production = ReleaseStore(tmp_path).current(envs["production"])
        assert staging is not None and production is not None
        assert (
            production.images["backend"]["digest"] == staging.images["backend"]["digest"] == backend["digest"]
        )
        host = DockerHost()
        live = [c["Labels"][LABEL_DIGEST] for e in envs.values() for c in host.releases(e)]
        host.close()
        assert live == [backend["digest"], backend["digest"]]

        async def registry_tags() -> dict[str, str]:
            async with RegistryClient(registry.host, insecure=True) as client:
                return {
                    t: await client.digest("inventory-backend", t)
                    for t in await client.tags("inventory-backend")
                }

        tags = anyio.run(registry_tags)
        assert tags[envs["production"]] == tags[envs["staging"]] == tags[sha] == backend["digest"]
        assert tags[f"{envs['production']}-{sha}"] == backend["digest"]
    finally:
        host = DockerHost()
        for name in envs.values():
            host.remove_environment(Environment(name=name, port=0, proxy_image=""))
        host.close()
