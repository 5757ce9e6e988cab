"""The OCI registry client and push against a real registry (Debian's docker-registry)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from registry_server import RegistryServer, registry_server

from pipeline.engines.base import RunContext
from pipeline.engines.docker import DockerEngine
from pipeline.ship.registry import RegistryClient, RegistryError


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryServer]:
    with registry_server() as server:
        yield server


@pytest.fixture
def tiny_image(tmp_path: Path, registry: RegistryServer) -> Iterator[str]:
    """A one-file image (FROM scratch): pushes in well under a second."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (tmp_path / "hello.txt").write_text(uuid.uuid4().hex)
    ref = f"{registry.host}/ship/tiny:abc123"
    client = docker.from_env()
    client.images.build(path=str(tmp_path), tag=ref, rm=True)
    yield ref
    client.images.remove(ref, force=True)
    client.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_push_read_digest_and_promote_by_digest(
    tiny_image: str, registry: RegistryServer, tmp_path: Path
) -> None:
    engine = DockerEngine(RunContext(run_id=f"t-{uuid.uuid4().hex[:8]}"))
    try:
        digest = await engine.publish(tiny_image, tiny_image, credentials=None, log_path=tmp_path / "push.log")
    finally:
        await engine.aclose()
    assert digest.startswith("sha256:")
    async with RegistryClient(registry.host, insecure=True) as client:
        assert await client.digest("ship/tiny", "abc123") == digest
        manifest = await client.manifest("ship/tiny", digest)
        assert manifest.digest == digest
        # Promotion: the same manifest under new tags, no pull, no rebuild.
        assert await client.tag("ship/tiny", digest, "production") == digest
        assert await client.tag("ship/tiny", digest, "production-abc123") == digest
        assert await client.digest("ship/tiny", "production") == digest
        assert sorted(await client.tags("ship/tiny")) == ["abc123", "production", "production-abc123"]
        with pytest.raises(RegistryError, match="not found"):
            await client.digest("ship/tiny", "nope")
    assert "pushed" in (tmp_path / "push.log").read_text()


@pytest.mark.anyio
async def test_unreachable_registry_says_what_to_do() -> None:
    async with RegistryClient("localhost:1", insecure=True, timeout=2) as client:
        with pytest.raises(RegistryError, match="is the registry running"):
            await client.ping()
