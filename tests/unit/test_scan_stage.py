"""The scan stage's scanners' image: built once per run, with the configured CA bundle."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pipeline.config import load_config
from pipeline.model.secrets import Redactor
from pipeline.model.spec import ImageBuild
from pipeline.plan import build_plan
from pipeline.stages.base import PipelineRun
from pipeline.stages.scan import stage as scan

PIPELINE = """\
project: {name: demo}
ca_bundle: certs/corp-ca.pem
stages:
  - {name: scan-deps, kind: scan, scanners: [bandit]}
"""


class _Builder:
    """Records what each build's context holds; builds nothing."""

    name = "fake"

    def __init__(self) -> None:
        self.bundles: list[bytes] = []

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        self.bundles.append((build.context / "ca.crt").read_bytes())
        return build.tags[0]


def test_scanner_image_takes_the_ca_bundle_relative_to_pipeline_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "repo"
    (project / "certs").mkdir(parents=True)
    (project / "certs/corp-ca.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\ncorp\n")
    (project / "pipeline.yaml").write_text(PIPELINE)
    # Slipway started from elsewhere (`-c repo/pipeline.yaml`): the bundle is still pipeline.yaml's.
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("repo/pipeline.yaml"), environ={})
    engine = _Builder()
    run = PipelineRun(config=config, engine=engine, run_id="t", report_dir=tmp_path / "out",  # type: ignore[arg-type]
                      redactor=Redactor(), jobs=build_plan(config).jobs)
    ctx = run.for_job(run.jobs[0])

    async def twice() -> tuple[str, str]:
        return await scan.scanner_image(ctx), await scan.scanner_image(ctx)

    first, second = anyio.run(twice)
    assert first == second
    assert engine.bundles == [b"-----BEGIN CERTIFICATE-----\ncorp\n"]  # built once, with the bundle
