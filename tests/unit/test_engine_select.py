"""--engine auto|dagger|docker, with real environments, PATHs and CLI processes.

The Dagger candidates are probed for real: a stand-in ``dagger`` script answers (or
not) the version query the probe sends, as the real CLI would print it. Slipway's own
engine container is looked up through ``find_slipway``, so these tests do not depend
on what runs on the machine.
"""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from pipeline.engines.dagger.connection import DaggerTarget, probe
from pipeline.engines.select import choose_engine, sdk_version, version_mismatch
from pipeline.model.errors import EngineUnavailable, UsageError

DEAD = "unix:///nonexistent/docker.sock"
SDK = sdk_version()


def fake_dagger(dir_: Path, *, version: str | None = f"v{SDK}", sleep: float = 0) -> Path:
    """A `dagger` that answers `query` with a version (or fails, or hangs), as the CLI would."""
    exe = dir_ / "dagger"
    if version is None:
        body = 'echo "Error: failed to connect to engine: no such host" >&2; exit 1'
    else:
        body = f"/bin/cat >/dev/null; /bin/sleep {sleep}; echo '{json.dumps({'version': version})}'"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def nothing() -> None:
    return None


class _Session(BaseHTTPRequestHandler):
    version = f"v{SDK}"

    def do_POST(self) -> None:
        body = json.dumps({"data": {"version": self.version}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def session_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Session)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_auto_takes_a_dagger_session_that_answers(tmp_path: Path, session_port: int) -> None:
    env = {"DAGGER_SESSION_PORT": str(session_port), "DAGGER_SESSION_TOKEN": "t", "PATH": str(tmp_path)}
    choice = choose_engine("auto", environ=env, find_slipway=nothing)
    assert choice.name == "dagger"
    assert choice.dagger is not None and choice.dagger.kind == "session"
    assert choice.reason.startswith(f"the session `dagger run` opened answered (v{SDK}, in ")


def test_a_session_that_does_not_answer_is_passed_over(tmp_path: Path) -> None:
    env = {
        "DAGGER_SESSION_PORT": "1",
        "DAGGER_SESSION_TOKEN": "t",
        "PATH": str(tmp_path),
        "DOCKER_HOST": DEAD,
    }
    with pytest.raises(EngineUnavailable) as err:
        choose_engine("auto", environ=env, find_slipway=nothing)
    assert "the `dagger run` session at http://127.0.0.1:1/query does not answer" in str(err.value)


def test_auto_takes_a_dagger_cli_whose_engine_answers(tmp_path: Path) -> None:
    exe = fake_dagger(tmp_path)
    choice = choose_engine("auto", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD}, find_slipway=nothing)
    assert choice.name == "dagger"
    assert choice.reason.startswith(f"the dagger CLI at {exe} answered (v{SDK}, in ")


def test_a_cli_that_cannot_start_an_engine_is_not_chosen(tmp_path: Path) -> None:
    fake_dagger(tmp_path, version=None)
    with pytest.raises(EngineUnavailable) as err:
        choose_engine("dagger", environ={"PATH": str(tmp_path)}, find_slipway=nothing)
    msg = str(err.value)
    assert "the engine did not answer (Error: failed to connect to engine: no such host)" in msg
    assert "python -m pipeline engine dagger --start" in msg


def test_a_probe_that_hangs_times_out(tmp_path: Path) -> None:
    exe = fake_dagger(tmp_path, sleep=5)
    target = DaggerTarget(kind="cli", description="the dagger CLI", cli=str(exe))
    with pytest.raises(Exception, match="no engine answered within 1s"):
        probe(target, {"PATH": str(tmp_path)}, timeout_s=1)


def test_an_engine_of_another_version_is_passed_over_with_the_reason(tmp_path: Path) -> None:
    fake_dagger(tmp_path, version="v0.21.11")
    with pytest.raises(EngineUnavailable) as err:
        choose_engine("dagger", environ={"PATH": str(tmp_path)}, find_slipway=nothing)
    assert f"the engine is v0.21.11 but dagger-io is {SDK}" in str(err.value)


def test_version_mismatch_is_exact() -> None:
    assert version_mismatch(f"v{SDK}", SDK) is None
    assert version_mismatch("v0.21.2", "0.21.8") is not None


def test_slipway_s_engine_is_found_without_exports(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    exe = fake_dagger(tmp_path / "cache")
    target = DaggerTarget(
        kind="slipway",
        description="Slipway's engine container slipway-dagger-engine",
        cli=str(exe),
        runner_host="docker-container://slipway-dagger-engine",
    )
    # Nothing on PATH, no variables: the container's labels say where its CLI is.
    choice = choose_engine("auto", environ={"PATH": str(tmp_path)}, find_slipway=lambda: target)
    assert choice.dagger == target
    assert choice.reason.startswith("Slipway's engine container slipway-dagger-engine answered")
    env = target.session_env()
    assert env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == "docker-container://slipway-dagger-engine"
    assert env["_EXPERIMENTAL_DAGGER_CLI_BIN"] == str(exe)


def test_a_runner_host_comes_before_slipway_s_engine(tmp_path: Path) -> None:
    exe = fake_dagger(tmp_path)
    slipway = DaggerTarget(kind="slipway", description="Slipway's engine", cli=str(exe))
    env = {"PATH": str(tmp_path), "_EXPERIMENTAL_DAGGER_RUNNER_HOST": "tcp://10.0.0.9:1234"}
    choice = choose_engine("dagger", environ=env, find_slipway=lambda: slipway)
    assert choice.dagger is not None
    assert choice.dagger.runner_host == "tcp://10.0.0.9:1234"
    assert "the engine at tcp://10.0.0.9:1234 (_EXPERIMENTAL_DAGGER_RUNNER_HOST) answered" in choice.reason


def test_auto_falls_back_to_docker_and_says_why(tmp_path: Path) -> None:
    fake_dagger(tmp_path, version=None)
    with pytest.raises(EngineUnavailable) as err:  # no daemon either
        choose_engine("auto", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD}, find_slipway=nothing)
    msg = str(err.value)
    assert "the engine did not answer" in msg
    assert "dockerd" in msg
    assert DEAD in msg
    assert err.value.exit_code == 2


def test_auto_with_nothing_names_what_to_install_or_start(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as err:
        choose_engine("auto", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD}, find_slipway=nothing)
    msg = str(err.value)
    assert "no Dagger session, engine or CLI here" in msg
    assert "engine dagger --start" in msg
    assert "dockerd" in msg
    assert err.value.exit_code == 2


def test_dagger_requested_without_dagger(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="--engine dagger"):
        choose_engine("dagger", environ={"PATH": str(tmp_path)}, find_slipway=nothing)


def test_docker_requested_skips_dagger_and_needs_the_daemon(tmp_path: Path) -> None:
    fake_dagger(tmp_path)
    with pytest.raises(EngineUnavailable, match="systemctl start docker"):
        choose_engine("docker", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD}, find_slipway=nothing)


def test_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="auto, dagger, docker"):
        choose_engine("podman", environ={}, find_slipway=nothing)
