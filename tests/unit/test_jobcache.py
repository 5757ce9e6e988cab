"""Job keys as a run computes them, and where a run's store comes from.

The engine is the seam that is faked: one that knows image ids (like Docker) or none
(like Dagger). The store is a real local directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cache import LocalStore, TieredStore
from pipeline.config import Config, load_config
from pipeline.model.errors import UsageError
from pipeline.model.secrets import Redactor
from pipeline.plan import Job, Shard
from pipeline.run.jobcache import KEY_PREFIX, open_job_cache
from pipeline.run.stores import describe_store, open_run_store
from pipeline.stages import command
from pipeline.stages.base import PipelineRun, RunOptions, never_cached, no_builds, no_facts

pytestmark = pytest.mark.unit

PIPELINE = """\
project: {name: demo}
secrets: [TOKEN]
stages:
  - name: lint
    kind: command
    image: python:3.11-slim
    source: src
    secrets: [TOKEN]
    env: {MODE: strict}
    commands: [[python, -m, compileall, .]]
"""


class Engine:
    """Answers image lookups like the Docker engine does; runs nothing."""

    name = "fake"

    def __init__(self, digests: dict[str, str] | None = None) -> None:
        self.digests = digests or {}

    async def image_digest(self, ref: str) -> str | None:
        return self.digests.get(ref)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("A = 1\n")
    (tmp_path / "docs.md").write_text("not an input of lint\n")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def make_run(config: Config, report_dir: Path, engine: object, store: object) -> PipelineRun:
    return PipelineRun(
        config=config,
        engine=engine,  # type: ignore[arg-type]
        run_id="r1",
        report_dir=report_dir,
        redactor=Redactor(),
        options=RunOptions(),
        store=store,  # type: ignore[arg-type]
    )


async def key_of(project: Path, *, engine: object | None = None, job: Job | None = None,
                 report_dir: Path | None = None) -> str:
    config = load_config(project / "pipeline.yaml")
    run = make_run(config, report_dir or project / "slipway-report", engine or Engine(),
                   LocalStore(project / ".cache"))
    ctx = run.for_job(job or Job(name="lint", stage="lint", kind="command"))
    cache = await open_job_cache(ctx, command)
    assert cache is not None
    return cache.key


@pytest.mark.anyio
async def test_key_follows_inputs_and_job_facts_but_not_run_output(project: Path) -> None:
    base = await key_of(project)
    assert base.startswith(KEY_PREFIX) and len(base) == len(KEY_PREFIX) + 64
    # Reports, run state and the local store live under the project, and change every run.
    (project / "slipway-report" / "logs").mkdir(parents=True)
    (project / "slipway-report" / "logs" / "lint.log").write_text("old run\n")
    (project / ".slipway").mkdir()
    (project / ".slipway" / "last-run.json").write_text("{}")
    (project / "docs.md").write_text("edited, but not under src/\n")
    assert await key_of(project) == base
    (project / "src" / "a.py").write_text("A = 2\n")
    changed = await key_of(project)
    assert changed != base
    sharded = await key_of(project, job=Job(name="lint", stage="lint", kind="command", shard=Shard(index=1, total=2)))
    assert sharded != changed


@pytest.mark.anyio
async def test_key_uses_the_image_id_when_the_engine_has_one(project: Path) -> None:
    by_ref = await key_of(project)
    by_id = await key_of(project, engine=Engine({"python:3.11-slim": "sha256:" + "1" * 64}))
    moved = await key_of(project, engine=Engine({"python:3.11-slim": "sha256:" + "2" * 64}))
    assert len({by_ref, by_id, moved}) == 3


@pytest.mark.anyio
async def test_secret_values_do_not_change_the_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "first-value")
    first = await key_of(project)
    monkeypatch.setenv("TOKEN", "rotated-value")
    assert await key_of(project) == first


@pytest.mark.anyio
async def test_a_stage_kind_without_cache_inputs_is_never_cached(project: Path) -> None:
    config = load_config(project / "pipeline.yaml")
    run = make_run(config, project / "r", Engine(), LocalStore(project / ".cache"))

    class Deploy:
        specs = staticmethod(command.specs)
        run = staticmethod(command.run)
        cache_inputs = staticmethod(never_cached)
        cache_specs = staticmethod(command.specs)
        cache_facts = staticmethod(no_facts)
        builds = staticmethod(no_builds)

    ctx = run.for_job(Job(name="lint", stage="lint", kind="command"))
    assert await open_job_cache(ctx, Deploy()) is None


def test_store_from_config_and_environment(project: Path) -> None:
    path = project / "pipeline.yaml"
    path.write_text(PIPELINE + "cache: {dir: .store, s3_bucket: team-cache, s3_prefix: ci/}\n")
    config = load_config(path)
    store = open_run_store(config, environ={})
    assert isinstance(store, TieredStore)
    assert store.description == f"local {project / '.store'} + s3://team-cache/ci"
    env = {"SLIPWAY_CACHE_DIR": str(project / "env-dir"), "SLIPWAY_CACHE_S3_URL": "s3://other/p",
           "SLIPWAY_CACHE_S3_ENDPOINT": "http://127.0.0.1:9"}
    store = open_run_store(config, environ=env)
    assert isinstance(store, TieredStore)
    assert store.description.startswith(f"local {project / 'env-dir'} + s3://other/p")
    assert "--no-cache" in describe_store(store, no_cache=True)
    with pytest.raises(UsageError, match="s3://bucket/prefix"):
        open_run_store(config, environ={"SLIPWAY_CACHE_S3_URL": "http://not-s3"})


def test_cache_can_be_switched_off(project: Path) -> None:
    path = project / "pipeline.yaml"
    path.write_text(PIPELINE + "cache: {enabled: false}\n")
    assert open_run_store(load_config(path), environ={}) is None
    assert "off" in describe_store(None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

