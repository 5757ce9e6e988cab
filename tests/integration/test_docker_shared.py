"""The Docker engine's run-wide sharing: one PostgreSQL server for every job that names the
same shared service, the checkout copied once per run (a snapshot image), CPU weights
instead of caps, and the job's phases timed for the report."""

from __future__ import annotations

from pathlib import Path

import anyio
import docker
import pytest

from pipeline.engines.base import LABEL_RUN, LABEL_SERVICE
from pipeline.engines.docker import DockerEngine
from pipeline.model.spec import (
    ContainerSpec,
    DirectoryMount,
    ImageRef,
    Limits,
    Readiness,
    ReadinessKind,
    ServiceSpec,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PY = ImageRef(ref="python:3.11-slim")
PG = ImageRef(ref="postgres:15")
DB = ServiceSpec(
    name="db",
    image=PG,
    env=(("POSTGRES_USER", "app"), ("POSTGRES_PASSWORD", "pw"), ("POSTGRES_DB", "appdb")),
    port=5432,
    readiness=Readiness(kind=ReadinessKind.HEALTHCHECK, timeout_s=60),
    shared=True,
)


def sh(script: str) -> tuple[str, ...]:
    return ("sh", "-c", script)


async def test_jobs_share_one_postgres_server_and_one_source_copy(
    engine: DockerEngine, docker_client: docker.DockerClient, run_id: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("VALUE = 1\n")

    def job(name: str) -> ContainerSpec:
        # Each job makes a database of its own on the server and lists what the server
        # holds: on one shared server, the second job sees the first job's database.
        return ContainerSpec(
            name=name,
            image=PG,
            services=(DB,),
            env=(("PGPASSWORD", "pw"),),
            directories=(DirectoryMount(source=src, dest="/src"),),
            commands=(
                sh(
                    f"cat /src/app.py && psql -h db -U app -d appdb -c 'create database {name}_db' "
                    "&& psql -h db -U app -d appdb -Atc 'select datname from pg_database order by 1'"
                ),
            ),
        )

    await engine.prepare_services(job("first"), log_path=tmp_path / "prep.log")
    first = await engine.run(job("first"), log_path=tmp_path / "a.log", output_dir=tmp_path / "a")
    second = await engine.run(job("second"), log_path=tmp_path / "b.log", output_dir=tmp_path / "b")
    log_a, log_b = first.log_path.read_text(), second.log_path.read_text()
    assert first.exit_code == 0 and second.exit_code == 0, log_a + log_b
    assert "VALUE = 1" in log_a and "VALUE = 1" in log_b
    assert "first_db" in log_b and "second_db" in log_b  # one server for both jobs
    assert "reusing the run's copy" in log_b  # the checkout was copied once
    servers = docker_client.api.containers(
        filters={"label": [f"{LABEL_SERVICE}=db", f"{LABEL_RUN}={run_id}"]}
    )
    assert len(servers) == 1
    # The phases a report shows: each one timed, the command marks in order.
    assert {"image", "services", "source", "create", "copy", "start", "commands", "export", "cleanup"} <= set(
        second.phases
    )
    assert second.marks["command_start"] <= second.marks["command_end"]


async def test_a_cpu_weight_is_a_share_not_a_cap(engine: DockerEngine, tmp_path: Path) -> None:
    spec = ContainerSpec(
        name="weighted",
        image=PY,
        limits=Limits(cpu_weight=2.0),
        commands=(
            sh(
                "cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight 2>/dev/null"
                " || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares"
            ),
        ),
    )
    with anyio.fail_after(120):
        result = await engine.run(spec, log_path=tmp_path / "w.log", output_dir=tmp_path)
    lines = result.log_path.read_text().splitlines()
    assert result.exit_code == 0, lines
    # No quota (cgroup v2 "max ...", v1 -1) and a weight above the default (2048 shares:
    # cgroup v2 maps it to 1 + (2048 - 2) * 9999 // 262142 = 79; the default 1024 is 39).
    assert any(line.startswith("max ") or line.strip() == "-1" for line in lines), lines
    assert any(line.strip() in ("79", "2048") for line in lines), lines
