"""Every bad command line exits 2 with typer's usage text, never "internal error"."""

from __future__ import annotations

import pytest

from pipeline.commands.cli import main
from pipeline.model.errors import EXIT_USAGE


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # images bootstrap takes image names since the bases work; doctor takes no argument.
        (["doctor", "slipway/python:3.13"], "Got unexpected extra argument(s) (slipway/python:3.13)"),
        (["plan", "--bogus"], "No such option: --bogus"),
        (["nosuch"], "No such command 'nosuch'"),
        (["plan", "--format", "yaml"], "Invalid value for '--format'"),
        (["run", "--jobs", "many"], "Invalid value for '--jobs'"),
        (["report"], "Missing argument"),
    ],
)
def test_usage_errors_exit_2_with_usage_text(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert captured.err.startswith("Usage: ")
    assert "--help' for help." in captured.err
    assert message in captured.err
    assert captured.out == ""


def test_help_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--help"]) == 0
    assert "--config" in capsys.readouterr().out
