"""The Dagger engine end to end, on a live engine (skipped where the CLI is absent).

Needs the `dagger` CLI on PATH (or a `dagger run` session) and a registry
to pull alpine from; our own machines have neither, CI runners with Dagger do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from pipeline.engines.base import RunContext, RunResult
from pipeline.engines.dagger import DaggerEngine
from pipeline.model.secrets import Redactor
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    DirectoryMount,
    ImageRef,
    Readiness,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)

pytestmark = [
    pytest.mark.dagger,
    pytest.mark.skipif(
        shutil.which("dagger") is None,
        reason="needs the dagger CLI on PATH and a live Dagger engine (https://docs.dagger.io/install)",
    ),
]

ALPINE = ImageRef(ref="alpine:3.20")


async def _run_all(specs: list[ContainerSpec], tmp: Path) -> list[RunResult]:
    # One engine (one session) for all the specs, as in a real run.
    engine = DaggerEngine(RunContext(run_id="live", redactor=Redactor()))
    results: list[RunResult] = []
    try:
        for i, spec in enumerate(specs):
            results.append(await engine.run(spec, log_path=tmp / f"{i}.log", output_dir=tmp / f"out{i}"))
    finally:
        await engine.aclose()
    return results


def run(specs: list[ContainerSpec], tmp: Path) -> list[RunResult]:
    return anyio.run(_run_all, specs, tmp)


def test_exit_code_and_output_come_back(tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="hello",
        image=ALPINE,
        commands=(("sh", "-c", "echo out-line; echo err-line >&2"), ("sh", "-c", "exit 3")),
    )
    (result,) = run([spec], tmp_path)
    assert result.exit_code == 3
    log = result.log_path.read_text()
    assert "out-line" in log
    assert "err-line" in log
    assert "--- exit code 3" in log


def test_failing_command_stops_the_job_and_still_exports_outputs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "input.txt").write_text("from the host\n")
    spec = ContainerSpec(
        name="fails",
        image=ALPINE,
        directories=(DirectoryMount(source=src, dest="/src"),),
        workdir="/src",
        commands=(
            ("sh", "-c", "mkdir -p /src/reports && cp input.txt reports/copied.txt"),
            ("false",),
            ("sh", "-c", "echo must-not-run > /src/reports/late.txt"),
        ),
        outputs=("/src/reports", "/src/missing.xml"),
    )
    (result,) = run([spec], tmp_path)
    assert result.exit_code == 1
    exported = result.outputs["/src/reports"]
    assert exported == tmp_path / "out0" / "src" / "reports"
    assert (exported / "copied.txt").read_text() == "from the host\n"
    assert not (exported / "late.txt").exists()
    assert "/src/missing.xml" not in result.outputs


def test_secret_reaches_the_command_but_not_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPWAY_LIVE_TOKEN", "s3cr3t-value")
    spec = ContainerSpec(
        name="secret",
        image=ALPINE,
        secrets=("SLIPWAY_LIVE_TOKEN",),
        commands=(("sh", "-c", 'test "$SLIPWAY_LIVE_TOKEN" = s3cr3t-value && echo "$SLIPWAY_LIVE_TOKEN"'),),
    )
    (result,) = run([spec], tmp_path)
    assert result.exit_code == 0
    assert "s3cr3t-value" not in result.log_path.read_text()


def test_cache_volume_keeps_content_across_runs(tmp_path: Path) -> None:
    cache = CacheMount(name="slipway-live-cache", path="/cache", sharing=Sharing.LOCKED)
    write = ContainerSpec(
        name="w", image=ALPINE, caches=(cache,), commands=(("sh", "-c", "date +%s%N > /cache/stamp"),)
    )
    read = ContainerSpec(
        name="r", image=ALPINE, caches=(cache,), commands=(("sh", "-c", "cat /cache/stamp"),)
    )
    first, second = run([write, read], tmp_path)
    assert first.exit_code == 0
    assert second.exit_code == 0
    assert second.log_path.read_text().split("--- $ ")[1].splitlines()[1].isdigit()


def test_service_is_reachable_by_name_once_ready(tmp_path: Path) -> None:
    web = ServiceSpec(
        name="web",
        image=ALPINE,
        port=8000,
        command=("sh", "-c", "mkdir -p /www && echo served > /www/index.html && httpd -f -p 8000 -h /www"),
        readiness=Readiness(
            kind=ReadinessKind.COMMAND, command=("wget", "-q", "-O", "/dev/null", "http://web:8000/")
        ),
    )
    spec = ContainerSpec(
        name="client",
        image=ALPINE,
        services=(web,),
        commands=(("wget", "-q", "-O", "-", "http://web:8000/"),),
    )
    (result,) = run([spec], tmp_path)
    assert result.exit_code == 0, result.log_path.read_text()
    log = result.log_path.read_text()
    assert "served" in log
    assert "--- service web: ready" in log
