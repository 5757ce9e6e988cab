"""The pure parts of three trust faults (issue 11): a stage's ``memory:`` and the OOM
killer, a registry that does not answer a push, a disk that fills. The faults
themselves, on a real daemon, registry and tmpfs, are tests/e2e/test_trust.py's."""

from __future__ import annotations

import errno
import importlib
import io
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

from pipeline.config import load_config
from pipeline.engines.base import RunContext, RunResult
from pipeline.engines.dagger.engine import DaggerEngine
from pipeline.engines.docker import DockerEngine
from pipeline.engines.docker.job import cpu_limits
from pipeline.engines.docker.oom import oom_killed
from pipeline.engines.docker.publish import push_failure
from pipeline.engines.docker.tar import extract_output
from pipeline.model.errors import ConfigError, EngineJobError, NoSpace
from pipeline.model.joblog import JobLog
from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.model.secrets import Redactor
from pipeline.model.sizes import format_size, memory_problem, size_bytes
from pipeline.model.spec import ContainerSpec, ImageRef, Limits
from pipeline.plan import Job, Plan, build_plan
from pipeline.scheduler import run_plan
from pipeline.stages import command
from pipeline.stages.base import PipelineRun, oom_detail

execute = importlib.import_module("pipeline.run.execute")  # the module: the package names its function so

PIPELINE = """\
project: {name: demo}
stages:
  - name: hog
    kind: command
    image: python:3.11-slim
    commands: [[python, -c, "print(1)"]]
    memory: %s
"""


def config_at(tmp_path: Path, memory: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(PIPELINE % memory))
    return path


# -- memory: ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("256m", 256 << 20), ("1g", 1 << 30), ("1.5G", 3 << 29), ("512MiB", 512 << 20), ("64mb", 64 << 20),
     ("6m", 6 << 20), ("1048576", 1 << 20), ("lots", None), ("", None), ("1x", None), ("-1g", None)],
)
def test_sizes_are_read_as_docker_reads_them(text: str, size: int | None) -> None:
    assert size_bytes(text) == size


def test_sizes_are_shown_short() -> None:
    assert [format_size(n) for n in (512, 64 << 20, 3 << 29, 1 << 40)] == ["512 B", "64 MiB", "1.5 GiB", "1 TiB"]


@pytest.mark.parametrize(
    ("memory", "said"),
    [
        ("256x", "stages[0].memory: not a size: write a number and a unit, e.g. 256m, 1g or 1.5g"),
        ("1k", "stages[0].memory: below the 6m a container needs to start"),
        ("512", "stages[0].memory: a number without a unit: write e.g. 512m or 1g"),
        ("2048t", "stages[0].memory: more than any machine has (at most 1024t)"),
    ],
)
def test_a_wrong_memory_names_file_line_and_what_to_write(tmp_path: Path, memory: str, said: str) -> None:
    path = config_at(tmp_path, memory)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value).startswith(f"{path}:7:13: {said}")
    assert info.value.exit_code == 2
    assert memory_problem("256m") is None


def test_memory_is_the_job_container_s_limit_without_swap(tmp_path: Path) -> None:
    config = load_config(config_at(tmp_path, "64m"), environ={})
    ctx_run = RunContext(run_id="t", redactor=Redactor())
    run = PipelineRun(config=config, engine=DockerEngine(ctx_run), run_id="t", report_dir=tmp_path / "out",
                      redactor=ctx_run.redactor, jobs=build_plan(config).jobs)
    (spec,) = command.specs(run.for_job(run.jobs[0]))
    assert spec.limits == Limits(memory_bytes=64 << 20)
    assert cpu_limits(spec) == {"mem_limit": 64 << 20, "memswap_limit": 64 << 20}


def _spec(memory: int | None) -> ContainerSpec:
    return ContainerSpec(name="hog", image=ImageRef(ref="x"), commands=(("true",),),
                         limits=Limits(memory_bytes=memory))


def test_the_job_says_the_oom_killer_and_the_memory_it_had(tmp_path: Path) -> None:
    config = load_config(config_at(tmp_path, "64m"), environ={})
    killed = RunResult(exit_code=137, log_path=tmp_path / "hog.log", duration_s=1.0, oom_killed=True)
    assert oom_detail(killed, _spec(64 << 20), config.model.stages[0]) == (
        "killed by the OOM killer at its memory limit of 64 MiB (memory: 64m), exit code 137"
    )
    plain = RunResult(exit_code=137, log_path=tmp_path / "hog.log", duration_s=1.0)
    assert oom_detail(plain, _spec(64 << 20), config.model.stages[0]) is None


class FakeApi:
    """The two daemon calls ``oom_killed`` makes: a container's state and its events."""

    def __init__(self, state_oom: bool, events: list[dict[str, Any]]) -> None:
        self.state_oom, self.events_given = state_oom, events
        self.asked: dict[str, Any] = {}

    def inspect_container(self, cid: str) -> dict[str, Any]:
        return {"State": {"Running": True, "OOMKilled": self.state_oom}}

    def events(self, **kwargs: Any) -> Any:
        self.asked = kwargs
        return FakeStream(self.events_given)


class FakeStream(list[dict[str, Any]]):
    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("state_oom", "events", "killed"),
    [
        (True, [], True),  # a daemon that sets the state for an exec'd process
        (False, [{"Type": "container", "Action": "oom", "status": "oom"}], True),  # 20.10: only the event
        (False, [], False),  # killed by someone else: SIGKILL, not the OOM killer
    ],
)
def test_the_oom_killer_is_read_from_the_state_or_the_daemon_s_event(
    state_oom: bool, events: list[dict[str, Any]], killed: bool
) -> None:
    api = FakeApi(state_oom, events)
    assert oom_killed(api, "c1", wait_s=0) is killed  # type: ignore[arg-type]
    if not state_oom:
        assert api.asked["filters"] == {"container": "c1", "event": "oom"}


def test_the_dagger_engine_warns_that_the_memory_limit_is_not_applied(tmp_path: Path) -> None:
    engine = DaggerEngine(RunContext(run_id="t", redactor=Redactor()), environ={})

    async def nothing() -> None:
        return None

    async def ran(*_args: Any) -> tuple[int, dict[str, Path]]:
        return 0, {}

    engine._session.ensure = nothing  # type: ignore[method-assign]
    engine._run_logged = ran  # type: ignore[method-assign]
    log = tmp_path / "hog.log"
    result = anyio.run(lambda: engine.run(_spec(64 << 20), log_path=log, output_dir=tmp_path))
    assert result.ok
    assert log.read_text() == (
        "[slipway] warning: memory limit 64 MiB not applied: the Dagger engine has no per-container "
        "memory limit; the job runs without one (--engine docker applies it)\n"
    )


# -- a registry that does not answer ------------------------------------------------


def test_a_push_nobody_answers_names_the_registry_in_one_line() -> None:
    said = push_failure(
        "localhost:41177/app:abc",
        'Get "http://localhost:41177/v2/": dial tcp 127.0.0.1:41177:\nconnect: connection refused',
    )
    assert said.startswith("registry localhost:41177 does not answer (connection refused): is it running")
    assert "\n" not in said
    assert push_failure("reg.example/app:1", "denied: requested access to the resource is denied") == (
        "registry reg.example refused the push: denied: requested access to the resource is denied"
    )


# -- a disk that fills -------------------------------------------------------------


def _tar_of(name: str, size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(b"x" * size))
    return buf.getvalue()


def test_an_output_that_does_not_fit_is_removed_whole_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fills(self: tarfile.TarFile, path: str | Path, **_kw: Any) -> None:
        part = Path(path) / "out" / "big.bin"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"x" * 100)  # half of it got there
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", fills)
    with pytest.raises(EngineJobError) as info:
        extract_output([_tar_of("out/big.bin", 200)], "/tmp/out", tmp_path)
    assert str(info.value).startswith(f"output /tmp/out could not be exported to {tmp_path}/tmp/out: "
                                      "no space left on device (")
    assert str(info.value).endswith("free there); nothing of it was kept")
    assert not (tmp_path / "tmp" / "out").exists()


def test_a_log_that_cannot_be_written_names_its_file() -> None:
    log = JobLog(Path("/dev/full"), Redactor())  # every write: "no space left on device"
    with pytest.raises(OSError, match="No space left on device") as info:
        log.line("hello")
    assert info.value.filename == "/dev/full"
    with pytest.raises(OSError):
        log.close()


def test_a_full_disk_fails_that_job_with_its_path_not_as_a_bug(tmp_path: Path) -> None:
    async def runner(j: Job) -> JobOutcome:
        if j.name == "chatty":
            raise OSError(errno.ENOSPC, "No space left on device", "out/logs/chatty.log")
        return JobOutcome(status=JobStatus.SUCCESS)

    plan = Plan(jobs=(Job(name="chatty", stage="chatty", kind="command"), Job(name="ok", stage="ok", kind="command")))
    # Its log cannot take the error either (a directory stands in for the full file): no crash.
    (tmp_path / "chatty.log").mkdir()
    result = anyio.run(lambda: run_plan(plan, runner, max_parallel=2, log_path=lambda j: tmp_path / f"{j.name}.log"))
    by = {r.job.name: r for r in result.records}
    assert by["chatty"].status is JobStatus.FAILED
    assert by["chatty"].detail == "out/logs/chatty.log: no space left on device"
    assert by["ok"].status is JobStatus.SUCCESS


def test_a_report_directory_without_room_stops_the_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execute, "free_bytes", lambda _path: 4096)
    with pytest.raises(NoSpace) as info:
        execute._report_dir_ready(tmp_path / "out")
    assert str(info.value) == (
        f"the report directory {tmp_path / 'out'} is full: no space left on device (4 KiB free there, the run "
        "needs at least 1 MiB); nothing was run: free some space there or pass another --report-dir"
    )
    assert info.value.exit_code == 1
    monkeypatch.setattr(execute, "free_bytes", lambda _path: 1 << 30)
    execute._report_dir_ready(tmp_path / "out")  # room enough: nothing said
