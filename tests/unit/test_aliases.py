"""The alias policy (model/aliases.py): an alias is a fallback, not a rewrite; and an alias
that swaps a version is a config error naming file:line and the right target."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.model.aliases import alias_problem, choose_image, resolve_alias
from pipeline.model.errors import ConfigError

ALIASES = {"python:3.11-slim": "slipway/python:3.11"}


class Daemon:
    """The seam the policy asks: which images are here, and whether a pull works."""

    def __init__(self, present: set[str], pullable: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.present = set(present)
        self.pullable = set(pullable)
        self.pulls: list[str] = []

    def has(self, ref: str) -> bool:
        return ref in self.present

    def pull(self, ref: str) -> str | None:
        self.pulls.append(ref)
        if ref in self.pullable:
            self.present.add(ref)
            return None
        return "dial tcp: lookup registry-1.docker.io: no such host"


def choose(logical: str, daemon: Daemon) -> tuple[str, str]:
    choice = choose_image(logical, ALIASES, present=daemon.has, pull=daemon.pull)
    return choice.ref, choice.describe()


def test_alias_target_present_is_used_without_pulling() -> None:
    daemon = Daemon({"slipway/python:3.11", "python:3.11-slim"})
    ref, said = choose("python:3.11-slim", daemon)
    assert ref == "slipway/python:3.11"
    assert daemon.pulls == []
    assert said == "image python:3.11-slim: using slipway/python:3.11 (alias; its target is present locally)"


def test_runner_that_reaches_docker_hub_and_never_bootstrapped_uses_the_public_image() -> None:
    daemon = Daemon(set(), pullable={"python:3.11-slim"})
    ref, said = choose("python:3.11-slim", daemon)
    assert ref == "python:3.11-slim"
    assert daemon.pulls == ["python:3.11-slim"]
    assert "pulled; alias target slipway/python:3.11 is not present locally" in said


def test_public_image_present_and_no_target_uses_the_public_image() -> None:
    daemon = Daemon({"python:3.11-slim"})
    ref, said = choose("python:3.11-slim", daemon)
    assert (ref, daemon.pulls) == ("python:3.11-slim", [])
    assert "present locally; alias target slipway/python:3.11 is not" in said


def test_no_registry_and_no_public_image_falls_back_to_the_alias() -> None:
    daemon = Daemon(set())
    ref, said = choose("python:3.11-slim", daemon)
    assert ref == "slipway/python:3.11"
    assert daemon.pulls == ["python:3.11-slim"]  # tried first; the caller pulls or builds the target
    assert "alias; python:3.11-slim is not present locally and its pull failed: dial tcp" in said


def test_a_name_without_alias_is_itself() -> None:
    daemon = Daemon(set(), pullable={"redis:7"})
    assert choose("redis:7", daemon)[0] == "redis:7"
    assert resolve_alias("redis:7", ALIASES) == "redis:7"
    assert resolve_alias("python:3.11-slim", ALIASES) == "slipway/python:3.11"
    assert resolve_alias("ubuntu", {"ubuntu:latest": "local/ubuntu"}) == "local/ubuntu"


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("python:3.11-slim", "slipway/python:3.11"),
        ("postgres:18", "slipway/postgres:18"),
        ("postgres:18-alpine", "registry.corp/postgres:18.1"),
        ("python:3.12-slim", "slipway/python:3.13"),  # no 3.12 anywhere: the nearest, as bootstrap says
        ("python:3-slim", "slipway/python:3.14"),
        ("redis:7", "local/redis:7"),  # a family we do not know: nothing to compare
        ("python:latest", "slipway/python:3.11"),  # no version asked
    ],
)
def test_aliases_that_keep_the_version_are_fine(name: str, target: str) -> None:
    assert alias_problem(name, target) is None


@pytest.mark.parametrize(
    ("name", "target", "right"),
    [
        ("postgres:18", "slipway/postgres:15", "slipway/postgres:18"),
        ("python:3.14-slim", "slipway/python:3.11", "slipway/python:3.14"),
        ("python:3.12-slim", "slipway/python:3.14", "slipway/python:3.13"),
        ("postgres:15", "slipway/python:3.11", "slipway/postgres:15"),
        ("postgres:16", "slipway/postgres:15", "slipway/postgres:17"),
    ],
)
def test_aliases_that_swap_the_version_say_the_right_target(name: str, target: str, right: str) -> None:
    problem = alias_problem(name, target)
    assert problem is not None
    assert f"Use {right}" in problem
    assert "never swaps versions silently" in problem


def test_config_error_names_file_line_and_right_target(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            version: 1
            project: {name: demo}
            images:
              aliases:
                python:3.11-slim: slipway/python:3.11
                postgres:18: slipway/postgres:15
            stages:
              - {name: a, kind: command, image: python:3.11-slim, commands: [["true"]]}
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "main"})
    msg = str(info.value)
    assert msg.startswith(f"{path}:6:18: images.aliases.postgres:18: alias target slipway/postgres:15")
    assert "Use slipway/postgres:18" in msg
    assert info.value.exit_code == 2
