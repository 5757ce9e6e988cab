"""What the live Dagger tests share: the engine they need, and running specs on it.

The engine is Slipway's own (``python -m pipeline engine dagger --start``, which
scripts/setup-machine runs): found by its container, probed, and its version checked.
Where it is missing the tests skip with that reason; in CI (``CI`` set) they fail,
since .ci/run builds and starts it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import httpx

from pipeline.engines.base import RunContext, RunResult
from pipeline.engines.dagger.connection import DaggerTarget, ProbeFailed, probe, slipway_engine
from pipeline.engines.dagger.engine import DaggerEngine
from pipeline.engines.dagger.provision.layout import TCP_PORT
from pipeline.engines.dagger.provision.mirror import MANIFEST_TYPES
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.errors import SlipwayError
from pipeline.model.secrets import Redactor
from pipeline.model.spec import ContainerSpec, ImageBuild
from tests.integration.parts import missing_part

START = "python -m pipeline engine dagger --start (scripts/setup-machine runs it)"
# The example's registry on the runner, which the engine reaches as localhost:5000 too.
RUNNER_REGISTRY = "localhost:5000"


def find_engine() -> DaggerTarget:
    target = slipway_engine()
    if target is None:
        missing_part(f"Slipway's Dagger engine is not running: {START}")
    assert target is not None
    try:
        probe(target, os.environ)
    except ProbeFailed as exc:
        missing_part(f"Slipway's Dagger engine does not answer ({exc}): {START}")
    return target


def remote(target: DaggerTarget) -> DaggerTarget:
    """The same engine reached as a remote one would be: over tcp://, not docker exec."""
    return DaggerTarget(
        kind="runner",
        description=f"the engine at tcp://127.0.0.1:{TCP_PORT}",
        cli=target.cli,
        runner_host=f"tcp://127.0.0.1:{TCP_PORT}",
    )


def engine(
    target: DaggerTarget,
    tmp: Path,
    *,
    redactor: Redactor | None = None,
    aliases: Mapping[str, str] | None = None,
) -> DaggerEngine:
    ctx = RunContext(
        run_id=f"live-{uuid.uuid4().hex[:6]}", redactor=redactor or Redactor(), log_dir=tmp / "logs"
    )
    return DaggerEngine(
        ctx,
        target=target,
        aliases=DEFAULT_ALIASES if aliases is None else aliases,
        mirrored=frozenset(),
    )


Outcome = RunResult | SlipwayError


async def run_specs(eng: DaggerEngine, specs: Sequence[ContainerSpec], tmp: Path) -> list[Outcome]:
    """Every spec at once on one engine (one session, as in a run); each one's result or
    the error it raised (an error must be that spec's alone)."""
    results: list[Outcome | None] = [None] * len(specs)

    async def one(i: int, spec: ContainerSpec) -> None:
        try:
            results[i] = await eng.run(
                spec, log_path=tmp / f"{spec.name}.log", output_dir=tmp / f"out-{spec.name}"
            )
        except SlipwayError as exc:
            results[i] = exc

    try:
        async with anyio.create_task_group() as tg:
            for i, spec in enumerate(specs):
                tg.start_soon(one, i, spec)
    finally:
        await eng.aclose()
    return [r for r in results if r is not None]


def run(target: DaggerTarget, specs: Sequence[ContainerSpec], tmp: Path, **kw: object) -> list[Outcome]:
    return anyio.run(run_specs, engine(target, tmp, **kw), specs, tmp)  # type: ignore[arg-type]


async def _build_and_publish(eng: DaggerEngine, build: ImageBuild, dest: str, tmp: Path) -> str:
    try:
        built = await eng.build_image(build, log_path=tmp / "build.log")
        return await eng.publish(built, dest, credentials=None, log_path=tmp / "build.log")
    finally:
        await eng.aclose()


def build_and_publish(target: DaggerTarget, build: ImageBuild, dest: str, tmp: Path) -> str:
    return anyio.run(_build_and_publish, engine(target, tmp), build, dest, tmp)


def registry_digest(ref: str) -> str:
    """The digest the runner's registry reports for host/repo:tag."""
    host, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":")
    host = host.replace("localhost", "127.0.0.1")
    resp = httpx.head(
        f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": ", ".join(MANIFEST_TYPES)}, timeout=10
    )
    resp.raise_for_status()
    return str(resp.headers["Docker-Content-Digest"])


def push_cold(local: str, name: str, mirror: str) -> None:
    """Push ``local`` to the engine's mirror as ``name`` (a name no engine pulled yet)."""
    temp = f"{mirror}/library/{name}"
    subprocess.run(["docker", "tag", local, temp], check=True, capture_output=True)
    try:
        subprocess.run(["docker", "push", "-q", temp], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rmi", temp], check=False, capture_output=True)


def text(result: Outcome) -> str:
    assert isinstance(result, RunResult), result
    return result.log_path.read_text()


def require_runner_registry() -> None:
    try:
        httpx.get(
            f"http://{RUNNER_REGISTRY.replace('localhost', '127.0.0.1')}/v2/", timeout=3
        ).raise_for_status()
    except httpx.HTTPError as exc:
        missing_part(f"no registry on {RUNNER_REGISTRY} ({exc}): scripts/setup-machine starts it")


__all__ = [
    "RUNNER_REGISTRY",
    "build_and_publish",
    "engine",
    "find_engine",
    "push_cold",
    "registry_digest",
    "remote",
    "require_runner_registry",
    "run",
    "run_specs",
    "text",
]
