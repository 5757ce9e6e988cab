"""--engine auto|dagger|docker, with real environments and PATHs (no docker-py fakes)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipeline.engines.select import choose_engine
from pipeline.model.errors import EngineUnavailable, UsageError

DEAD = "unix:///nonexistent/docker.sock"


def fake_dagger(dir_: Path) -> Path:
    exe = dir_ / "dagger"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_auto_takes_a_dagger_session_first(tmp_path: Path) -> None:
    env = {"DAGGER_SESSION_PORT": "1234", "DAGGER_SESSION_TOKEN": "t", "PATH": str(tmp_path)}
    choice = choose_engine("auto", environ=env)
    assert choice.name == "dagger"
    assert "session" in choice.reason


def test_auto_takes_a_dagger_cli_on_path(tmp_path: Path) -> None:
    exe = fake_dagger(tmp_path)
    choice = choose_engine("auto", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD})
    assert choice == ("dagger", f"the dagger CLI is on PATH ({exe})")


def test_a_half_session_is_no_session(tmp_path: Path) -> None:
    env = {"DAGGER_SESSION_PORT": "1234", "PATH": str(tmp_path), "DOCKER_HOST": DEAD}
    with pytest.raises(EngineUnavailable):
        choose_engine("auto", environ=env)


def test_auto_with_nothing_names_what_to_install_or_start(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as err:
        choose_engine("auto", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD})
    msg = str(err.value)
    assert "Dagger CLI" in msg
    assert "dockerd" in msg
    assert DEAD in msg
    assert err.value.exit_code == 2


def test_dagger_requested_without_dagger(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="--engine dagger"):
        choose_engine("dagger", environ={"PATH": str(tmp_path)})


def test_docker_requested_skips_dagger_and_needs_the_daemon(tmp_path: Path) -> None:
    fake_dagger(tmp_path)
    with pytest.raises(EngineUnavailable, match="systemctl start docker"):
        choose_engine("docker", environ={"PATH": str(tmp_path), "DOCKER_HOST": DEAD})


def test_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="auto, dagger, docker"):
        choose_engine("podman", environ={})
