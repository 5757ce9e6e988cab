"""The pytest stage's pure parts: its pytest command line, the CPU budget, the
quarantine, reading results from a real JUnit file, reproduce's job lookup, and
merging the reports of a CI matrix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace as dc_replace
from pathlib import Path

import pytest

from pipeline.cache.local import LocalStore
from pipeline.commands.reproduce import find_job
from pipeline.engines.base import RunResult
from pipeline.engines.docker.job import cpu_limits
from pipeline.model.errors import UsageError
from pipeline.model.outcome import JobStatus
from pipeline.model.spec import ContainerSpec
from pipeline.plan import Job, build_plan
from pipeline.reports.merge import merge_reports
from pipeline.ship.releases import Release, ReleaseStore
from pipeline.stages.base import JobContext, PipelineRun, RunOptions
from pipeline.stages.pytest import collect, container, stage
from pipeline.stages.pytest import results as outcomes
from tests.unit.pipeline_runs import pipeline_run

CONFIG = """\
project: {name: demo, root: app}
images:
  test_base: {dockerfile: Dockerfile.test, key_files: [app/requirements.txt]}
services:
  db: {image: postgres:15, port: 5432}
stages:
  - name: unit
    kind: pytest
    paths: [tests/unit]
    markers: "not slow"
    reruns: 2
    addopts: [-x]
    override_ini: ["addopts="]
    coverage: {source: [demo]}
    quarantine: ["tests/unit/test_a.py::test_flaky_thing"]
  - name: db
    kind: pytest
    paths: [tests/db]
    services: [db]
    shards: 2
    database: {service: db, name: demo, migrate: [alembic, upgrade, head], env: {PGDATABASE: "{dbname}"}}
"""


@pytest.fixture
def run(tmp_path: Path) -> PipelineRun:
    return pipeline_run(tmp_path, CONFIG, total_cpus=4)


def job_ctx(run: PipelineRun, name: str) -> JobContext:
    return run.for_job(next(j for j in run.jobs if j.name == name))


def test_pytest_args_put_ours_after_the_projects(run: PipelineRun) -> None:
    args = container.pytest_args(job_ctx(run, "unit"), workers=3, select=["tests/unit"])
    assert args[:9] == [
        "tests/unit",
        "-p", "slipway_pytest_plugin",
        "-p", "slipway_pytest_phases",
        "-p", "slipway_pytest_progress",
        "-p", "no:cacheprovider",
    ]  # fmt: skip
    assert args[args.index("-n") + 1] == "3" and args[args.index("--dist") + 1] == "worksteal"
    assert args[args.index("-m") + 1] == "not slow"
    assert args[args.index("--reruns") + 1] == "2"
    assert "--cov=demo" in args and "--cov-report=xml:/slipway/out/coverage.xml" in args
    assert args[-3:] == ["-o", "addopts=", "-x"]  # the stage's overrides come last: they win
    serial = container.pytest_args(job_ctx(run, "unit"), workers=0, select=["t.py::x"])
    assert serial[serial.index("-n") + 1] == "0" and "--dist" not in serial


def test_collection_keeps_selection_only(run: PipelineRun) -> None:
    args = container.pytest_args(job_ctx(run, "unit"), workers=3, select=["tests/unit"])
    kept = collect.collect_args(args)
    assert "-n" not in kept and "--junitxml" not in kept and "--reruns" not in kept
    assert not [a for a in kept if a.startswith("--cov")]
    assert "-m" in kept and "not slow" in kept and "tests/unit" in kept


def test_cpu_weights_add_up_to_the_cores_and_workers_have_a_floor(run: PipelineRun) -> None:
    results = {j.name: container.budget(run.for_job(j)) for j in run.jobs}
    assert set(results) == {"unit", "db-1of2", "db-2of2"}
    assert sum(weight or 0 for _, weight in results.values()) == pytest.approx(4, abs=0.05)
    assert all(workers >= container.MIN_WORKERS for workers, _ in results.values())


def test_the_cpu_share_is_a_weight_never_a_cap(run: PipelineRun) -> None:
    # A cap (nano_cpus) outlives the work it was sized for: when the unit group ends,
    # its share sat idle while the others stayed capped. A weight (cpu_shares) does not.
    specs = [container.spec(run.for_job(j), image="img", select=["tests"]) for j in run.jobs]
    assert all(s.limits.cpus is None for s in specs)
    weights = [s.limits.cpu_weight for s in specs]
    assert all(w is not None and w > 0 for w in weights)
    shares = [cpu_limits(s) for s in specs]
    assert all("nano_cpus" not in x and x["cpu_shares"] >= 512 for x in shares)


def test_database_env_names_the_service_and_a_per_job_database(run: PipelineRun) -> None:
    env = dict(container.database_env(job_ctx(run, "db-2of2")))
    assert env["SLIPWAY_DB_ADMIN_URL"] == "postgresql://postgres:postgres@db:5432/postgres"
    assert env["SLIPWAY_DB_NAME"] == "demo_db_2of2"
    assert json.loads(env["SLIPWAY_DB_MIGRATE"]) == ["alembic", "upgrade", "head"]
    assert json.loads(env["SLIPWAY_DB_ENV"]) == {"PGDATABASE": "{dbname}"}
    # The run's own server goes with the run: no drop after the last test.
    assert env["SLIPWAY_DB_KEEP"] == "1"
    assert container.database_env(job_ctx(run, "unit")) == []
    dotted = run.for_job(dc_replace(job_ctx(run, "db-2of2").job, name="db.v2-Shard"))
    assert dict(container.database_env(dotted))["SLIPWAY_DB_NAME"] == "demo_db_v2_shard"


def test_long_job_names_never_share_a_database(run: PipelineRun) -> None:
    # Two job names that agree on their first 40 characters: cut without a hash, they
    # got one database name and two jobs on a shared server used one database.
    base = run.for_job(job_ctx(run, "db-2of2").job)
    long_a = "integration-tests-against-the-payments-service-1of2"
    long_b = "integration-tests-against-the-payments-service-2of2"
    names = {
        dict(container.database_env(run.for_job(dc_replace(base.job, name=n))))["SLIPWAY_DB_NAME"]
        for n in (long_a, long_b)
    }
    assert len(names) == 2
    for name in names:
        assert len(name) <= container.DB_NAME_MAX and name.startswith("demo_integration_tests")
        assert all((c.isalnum() and c.islower()) or c.isdigit() or c == "_" for c in name)


def test_spec_copies_plugin_exports_outputs_and_binds_services(run: PipelineRun) -> None:
    spec = container.spec(job_ctx(run, "db-1of2"), image="img:1", select=["tests/db"])
    dests = [f.dest for f in spec.files]
    assert dests[:2] == ["/slipway/slipway_pytest_plugin.py", "/slipway/slipway_pytest_db.py"]
    # Every module the plugin imports is copied beside it.
    modules = {**container.PLUGIN_MODULES, **container.SHARED_MODULES}
    assert {Path(d).stem for d in dests} == set(modules.values())
    assert all((container.TESTING / name).is_file() for name in container.PLUGIN_MODULES)
    assert all((container.TESTING.parent / name).is_file() for name in container.SHARED_MODULES)
    assert "/slipway/slipway_pytest_progress.py" in dests
    assert spec.outputs == ("/slipway/out",)
    assert [s.name for s in spec.services] == ["db"]
    assert spec.services[0].shared  # one PostgreSQL server per run, a database per job
    assert dict(spec.env)["PYTHONPATH"] == "/slipway"
    assert spec.workdir == "/src"


def _junit(tmp: Path, body: str) -> Path:
    (tmp / "tests/unit").mkdir(parents=True)
    (tmp / "tests/unit/test_a.py").write_text(textwrap.dedent(body))
    out = tmp / "out/slipway/out"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit",
                    f"--junitxml={out}/junit.xml", "-o", "junit_family=xunit1"], cwd=tmp,
                   capture_output=True, check=False)
    return out


BODY = """
def test_ok(): pass
def test_flaky_thing(): assert False
def test_real_failure(): assert 1 == 2
"""


def test_read_results_names_failures_and_honours_quarantine(run: PipelineRun, tmp_path: Path) -> None:
    project = run.config.project_root
    _junit(project, BODY)
    ctx = job_ctx(run, "unit")
    out_dir = ctx.artifacts_dir / "slipway/out"
    out_dir.mkdir(parents=True)
    (out_dir / "junit.xml").write_bytes((project / "out/slipway/out/junit.xml").read_bytes())
    outcome = outcomes.read_results(ctx, 1, {})
    assert outcome.status is JobStatus.FAILED
    assert outcome.detail == "1 failed: tests/unit/test_a.py::test_real_failure"
    assert outcome.data["failures"] == [{
        "test": "tests/unit/test_a.py::test_real_failure",
        "outcome": "failed",
        "cause": "",  # the plugin was not loaded in this run
        "reproduce": "python -m pipeline reproduce tests/unit/test_a.py::test_real_failure --job unit",
    }]
    assert outcome.data["quarantined"] == ["tests/unit/test_a.py::test_flaky_thing"]
    assert outcome.tests is not None and outcome.tests.failed == 1 and outcome.tests.passed == 1
    assert (out_dir / "durations.json").is_file()


def test_only_quarantined_failures_pass(run: PipelineRun) -> None:
    project = run.config.project_root
    _junit(project, "def test_ok(): pass\ndef test_flaky_thing(): assert False\n")
    ctx = job_ctx(run, "unit")
    out_dir = ctx.artifacts_dir / "slipway/out"
    out_dir.mkdir(parents=True)
    (out_dir / "junit.xml").write_bytes((project / "out/slipway/out/junit.xml").read_bytes())
    outcome = outcomes.read_results(ctx, 1, {"workers": 2})
    assert outcome.status is JobStatus.SUCCESS
    assert "1 quarantined failing" in outcome.detail


def test_no_junit_is_a_failure_that_points_at_the_log(run: PipelineRun) -> None:
    outcome = outcomes.read_results(job_ctx(run, "unit"), 4, {})
    assert outcome.status is JobStatus.FAILED
    assert "pytest exited 4 and wrote no JUnit report; see unit.log" in outcome.detail


def test_a_truncated_junit_file_fails_the_job_with_its_reason(run: PipelineRun) -> None:
    # pytest killed while writing its report: a failed job that says so, not an
    # internal error of Slipway.
    ctx = job_ctx(run, "unit")
    out_dir = ctx.artifacts_dir / "slipway/out"
    out_dir.mkdir(parents=True)
    (out_dir / "junit.xml").write_text('<?xml version="1.0"?><testsuites><testsuite name="pytest"><testc')
    outcome = outcomes.read_results(ctx, 1, {})
    assert outcome.status is JobStatus.FAILED
    assert "JUnit report is unreadable" in outcome.detail and "see unit.log" in outcome.detail
    assert (out_dir / "junit.xml") in outcome.artifacts


def test_reproduce_finds_the_job_of_a_test(run: PipelineRun) -> None:
    plan = build_plan(run.config)
    assert find_job(run.config, plan, "tests/db/test_x.py::test_y", None, None).stage == "db"
    assert find_job(run.config, plan, "tests/unit/test_a.py::test_ok", None, None).name == "unit"
    assert find_job(run.config, plan, "db-2of2", None, None).name == "db-2of2"
    with pytest.raises(UsageError, match="neither a job nor a test"):
        find_job(run.config, plan, "elsewhere/test_z.py::t", None, None)


def _report(path: Path, run_id: str, status: str, jobs: list[dict[str, object]], passed: int) -> Path:
    path.mkdir(parents=True)
    (path / "report.json").write_text(json.dumps({
        "run_id": run_id, "git_sha": "abc", "engine": "docker", "status": status,
        "started": f"2026-11-23T07:0{run_id[-1]}:00+00:00", "finished": "2026-11-23T07:10:00+00:00",
        "jobs": jobs, "tests": {"passed": passed, "failed": 0 if status == "success" else 1,
                                "skipped": 0, "errors": 0, "flaky": 0},
        "coverage": None, "failures": [] if status == "success" else [{"test": "t::x", "job": "u-2of2",
                                                                       "reproduce": "r"}],
    }))
    return path


def test_merge_reports_of_a_matrix(tmp_path: Path) -> None:
    def job(name: str, shard: str, seconds: float) -> dict[str, object]:
        return {"name": name, "stage": "u", "kind": "pytest", "shard": shard, "status": "success",
                "started": None, "finished": None, "duration_s": seconds, "log": f"logs/{name}.log",
                "artifacts": [], "test_seconds": seconds - 1, "shard_estimates_s": [10.0, 12.0]}

    a = _report(tmp_path / "a", "r1", "success", [job("u-1of2", "1/2", 10.0)], 5)
    b = _report(tmp_path / "b", "r2", "failed", [job("u-2of2", "2/2", 11.0)], 4)
    merged = merge_reports([a, b], tmp_path / "m")
    assert merged["status"] == "failed"
    assert merged["tests"]["passed"] == 9 and merged["tests"]["failed"] == 1
    assert [j["log"] for j in merged["jobs"]] == ["../a/logs/u-1of2.log", "../b/logs/u-2of2.log"]
    assert merged["failures"][0]["test"] == "t::x"
    assert merged["shards"]["u"]["imbalance"] == pytest.approx(11 / 10.5, abs=1e-3)
    assert merged["shards"]["u"]["planned_imbalance"] == pytest.approx(12 / 11, abs=1e-3)
    assert json.loads((tmp_path / "m/report.json").read_text())["run_id"] == "r1+r2"
    with pytest.raises(UsageError):
        merge_reports([], tmp_path / "x")


def test_cache_view_ignores_worker_count_and_cpu_weight(run: PipelineRun) -> None:
    ctx = job_ctx(run, "unit")
    busy = dc_replace(run, options=RunOptions(total_cpus=16))
    assert stage.specs(ctx) != stage.specs(busy.for_job(ctx.job))  # the budget differs...
    assert stage.cache_specs(ctx) == stage.cache_specs(busy.for_job(ctx.job))  # ...the key does not
    assert stage.cache_inputs(ctx) == ("**",)
    assert stage.cache_facts(ctx) == {}
    assert set(stage.cache_facts(job_ctx(run, "db-1of2"))) == {"durations"}


def test_release_history_lives_in_the_store_for_a_fresh_runner(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    first = ReleaseStore(tmp_path / "runner1", store=store)
    release = Release(id="r1", environment="staging", target="docker", images={}, git_sha="a",
                      run_id="x", stage="deploy-staging", started="2026-11-23T07:00:00+00:00",
                      result="success")
    first.save(release)
    fresh = ReleaseStore(tmp_path / "runner2", store=store)  # no local file on this runner
    assert not fresh.path("staging").exists()
    assert fresh.current("staging") == release


class _CachedExcept:
    """A job cache that answers every job but one."""

    def __init__(self, running: str) -> None:
        self.running = running

    async def answers(self, job: Job) -> bool:
        return job.name != self.running


class _RecordingEngine:
    """Knows the test image; records the spec it is asked to run, runs nothing."""

    name = "fake"

    def __init__(self) -> None:
        self.ran: list[ContainerSpec] = []
        self.prepared: list[ContainerSpec] = []

    async def image_digest(self, ref: str) -> str | None:
        return "sha256:" + "1" * 64

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        self.prepared.append(spec)

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        self.ran.append(spec)
        return RunResult(exit_code=0, log_path=log_path, duration_s=0.0)


@pytest.mark.anyio
async def test_a_lone_running_group_gets_every_core(run: PipelineRun) -> None:
    # The other groups are answered by the job cache: they use no CPU, so the one
    # group that runs must not get a third of the machine.
    engine = _RecordingEngine()
    alone = dc_replace(run, engine=engine)  # type: ignore[arg-type]
    alone.state.cache_probe = _CachedExcept("unit")
    outcome = await stage.run(alone.for_job(job_ctx(alone, "unit").job))
    assert outcome.data["cpu_weight"] is None
    assert outcome.data["workers"] == run.options.total_cpus
    (spec,) = engine.ran
    assert spec.limits.cpus is None and spec.limits.cpu_weight is None
    argv = spec.commands[-1]
    assert argv[argv.index("-n") + 1] == str(run.options.total_cpus)
    # Nothing cached: the three groups share the cores as before.
    assert container.budget(job_ctx(run, "unit"))[1] is not None


@pytest.mark.anyio
async def test_the_shared_database_is_started_before_the_job_needs_it(run: PipelineRun) -> None:
    engine = _RecordingEngine()
    early = dc_replace(run, engine=engine)  # type: ignore[arg-type]
    await stage._services_early(job_ctx(early, "db-1of2"))
    (spec,) = engine.prepared
    assert [(s.name, s.shared) for s in spec.services] == [("db", True)]
    await stage._services_early(job_ctx(early, "unit"))  # no service: nothing to start
    assert len(engine.prepared) == 1


class _OomEngine(_RecordingEngine):
    """The test container was killed by the OOM killer before pytest wrote anything."""

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        self.ran.append(spec)
        return RunResult(exit_code=137, log_path=log_path, duration_s=0.0, oom_killed=True)


@pytest.mark.anyio
async def test_a_test_container_killed_by_the_oom_killer_says_so_and_its_memory(tmp_path: Path) -> None:
    engine = _OomEngine()
    planned = pipeline_run(tmp_path, CONFIG.replace("    reruns: 2\n", "    reruns: 2\n    memory: 1.5g\n"), total_cpus=4)
    oom_run = dc_replace(planned, engine=engine)  # type: ignore[arg-type]
    outcome = await stage.run(job_ctx(oom_run, "unit"))
    (spec,) = engine.ran
    assert spec.limits.memory_bytes == 3 << 29
    assert outcome.status is JobStatus.FAILED
    assert outcome.detail.startswith(
        "killed by the OOM killer at its memory limit of 1.5 GiB (memory: 1.5g), exit code 137; "
        "pytest exited 137 and wrote no JUnit report"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
