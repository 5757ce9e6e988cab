"""What a deploy command and a command health check see of the runner's environment."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from pipeline.config.model import Health
from pipeline.model.joblog import JobLog
from pipeline.model.secrets import Redactor
from pipeline.ship.deploy.command import command_env, run_command, runner_env
from pipeline.ship.deploy.health import command_probe

LEAK = "SLIPWAY_TEST_CI_TOKEN"


def test_runner_env_passes_what_a_program_needs_and_nothing_else() -> None:
    env = runner_env({"PATH": "/bin", "HOME": "/root", "DOCKER_HOST": "unix:///d.sock", LEAK: "x"})
    assert env == {"PATH": "/bin", "HOME": "/root", "DOCKER_HOST": "unix:///d.sock"}


def test_a_deploy_command_gets_its_stage_env_not_the_runners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, the runner's whole environment went to the user's script: CI tokens and
    # cloud credentials that the stage never named included.
    monkeypatch.setenv(LEAK, "do-not-pass")
    images = {"web": {"repository": "reg:5000/app-web", "digest": "sha256:ab", "ref": "reg:5000/app-web@sha256:ab"}}
    env = {"MODE": "blue", **command_env("staging", images, "c0ffee")}

    async def deploy() -> tuple[bool, str]:
        with JobLog(tmp_path / "deploy.log", Redactor()) as log:
            return await run_command(("env",), env, cwd=str(tmp_path), timeout_s=30, log=log)

    ok, why = anyio.run(deploy)
    assert ok, why
    seen = dict(line.split("=", 1) for line in (tmp_path / "deploy.log").read_text().splitlines() if "=" in line)
    assert LEAK not in seen
    assert seen["MODE"] == "blue" and seen["IMAGE"] == "reg:5000/app-web" and seen["TAG"] == "staging-c0ffee"
    assert seen["IMAGE_WEB"] == "reg:5000/app-web@sha256:ab" and "PATH" in seen


def test_a_command_health_check_does_not_see_the_runners_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEAK, "do-not-pass")
    probe = ("sh", "-c", f'test -z "${LEAK}" && test "$ENVIRONMENT" = staging')
    ok, why = anyio.run(command_probe, probe, Health().timeout_s, {"ENVIRONMENT": "staging"}, str(tmp_path))
    assert ok, why
