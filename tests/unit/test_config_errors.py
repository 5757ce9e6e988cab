"""Every class of config error names file:line:column and the key path, and exits 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.commands.cli import main
from pipeline.config import load_config
from pipeline.model.errors import ConfigError

BASE = """\
version: 1
project:
  name: demo
stages:
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "main"})
    return str(info.value)


def test_unknown_key_names_line_column_path_and_suggests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: unit
    kind: pytest
    pahts: [tests]
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:7:5: stages[0].pahts: unknown key 'pahts'")
    assert "did you mean 'paths'?" in msg


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "projct:\n  name: x\n" + BASE.replace("version: 1\n", ""))
    msg = error_of(path)
    assert f"{path}:1:1: projct: unknown key 'projct'; did you mean 'project'?" in msg


def test_wrong_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: unit
    kind: pytest
    shards: many
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:7:13: stages[0].shards:")
    assert "'many'" in msg


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: lint
    kind: command
    commands: [[ruff, check]]
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:5:5: stages[0].image: required key 'image' is missing")


def test_unknown_needs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: build
    kind: build
    targets: [app]
  - name: deploy
    kind: deploy
    environment: staging
    needs: [biuld]
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:11:13: stages[1].needs[0]: unknown stage 'biuld'")
    assert "did you mean 'build'?" in msg


def test_cycle(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: a
    kind: build
    targets: [x]
    needs: [c]
  - name: b
    kind: build
    targets: [x]
    needs: [a]
  - name: c
    kind: build
    targets: [x]
    needs: [b]
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:8:5: stages[0].needs: cycle: a -> c -> b -> a")


def test_duplicate_stage_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + """\
  - name: unit
    kind: pytest
  - name: unit
    kind: pytest
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:7:11: stages[1].name: duplicate stage name 'unit'")
    assert f"first at {path}:5:11" in msg


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  - name: unit\n    kind: pytest\n    kind: build\n")
    assert error_of(path).startswith(f"{path}:7:5: stages[0].kind: duplicate key 'kind'")


def test_unknown_kind(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  - name: unit\n    kind: pytset\n")
    msg = error_of(path)
    assert msg.startswith(f"{path}:5:5: stages[0].kind: unknown or missing stage kind")


def test_literal_secret_value_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
project: {name: demo}
secrets: [API_TOKEN]
stages:
  - name: lint
    kind: command
    image: python:3.12-slim
    commands: [[ruff]]
    env:
      API_TOKEN: hunter2-literal
""",
    )
    msg = error_of(path)
    assert msg.startswith(f"{path}:9:7: stages[0].env.API_TOKEN: API_TOKEN is declared a secret")


def test_credential_shaped_value_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
project: {name: demo}
stages:
  - name: lint
    kind: command
    image: python:3.12-slim
    commands: [[ruff]]
    env:
      AWS_ACCESS_KEY_ID: AKIAABCDEFGHIJKLMNOP
""",
    )
    assert error_of(path).startswith(f"{path}:8:26: stages[0].env.AWS_ACCESS_KEY_ID: this value looks like a credential")


def test_secret_interpolation_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
project: {name: demo}
secrets: [TOKEN]
stages:
  - name: lint
    kind: command
    image: python:3.12-slim
    commands: [[echo, "${TOKEN}"]]
""",
    )
    assert "${TOKEN} is a secret" in error_of(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "project: {name: demo\nstages: []\n")
    assert error_of(path).startswith(f"{path}:2:")


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.yaml")


def test_cli_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE + "  - name: unit\n    kind: pytest\n    pahts: [x]\n")
    code = main(["plan", "--config", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert f"{path}:7:5: stages[0].pahts" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_interpolation_and_git_facts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
project: {name: demo}
variables:
  REGISTRY: ${MY_REGISTRY:-localhost:5000}
  TAG: ${GIT_SHA}
stages:
  - name: push
    kind: command
    image: ${REGISTRY}/tool:${TAG}
    commands: [[echo, "${BRANCH}"]]
""",
    )
    cfg = load_config(path, environ={"GIT_SHA": "abc123", "BRANCH": "feature/x"})
    stage = cfg.model.stages[0]
    assert stage.image  # type: ignore[union-attr] == "localhost:5000/tool:abc123"
    assert stage.commands  # type: ignore[union-attr] == (("echo", "feature/x"),)
    cfg2 = load_config(path, environ={"GIT_SHA": "abc", "MY_REGISTRY": "reg:1"})
    assert cfg2.model.stages[0].image  # type: ignore[union-attr] == "reg:1/tool:abc"


def test_config_is_frozen(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  - name: unit\n    kind: pytest\n")
    cfg = load_config(path, environ={})
    with pytest.raises(Exception, match="frozen"):
        cfg.model.stages[0].name = "x"  # type: ignore[misc]
