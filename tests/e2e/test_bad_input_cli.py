"""The issue's bad inputs, through the real CLI in a subprocess: each exits 2 with one
line that says what is wrong, with no traceback, and the alias bomb in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_config_limits import GOOD, alias_bomb

# The bomb used to grow past 17 GB in 7 minutes; refused, it stays near the interpreter's
# own size (about 80 MB with Slipway imported).
MAX_RSS_MB = 200


def run_cli(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI's result and its own peak memory in MB (wait4's rusage of that child)."""
    out, err = cwd / "cli.out", cwd / "cli.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args],
            cwd=cwd,
            env={**os.environ, "GIT_SHA": "a" * 40, "BRANCH": "main"},
            stdout=stdout,
            stderr=stderr,
        )
    deadline = time.monotonic() + 120
    while (reaped := os.wait4(proc.pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{args} still running after 120 s")
        time.sleep(0.05)  # polling a child's exit, with a deadline
    proc.returncode = os.waitstatus_to_exitcode(reaped[1])
    rss_mb = reaped[2].ru_maxrss / 1024
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(), err.read_text())
    return result, rss_mb


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_the_alias_bomb_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(alias_bomb())
    proc, rss_mb = run_cli(tmp_path, "plan")
    line = one_line_error(proc)
    assert line.startswith("error: pipeline.yaml:")
    assert "alias bomb?" in line
    assert rss_mb < MAX_RSS_MB, f"peak memory {rss_mb:.0f} MB"


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_bytes((GOOD + "# café\n").encode("latin-1"))
    proc, _ = run_cli(tmp_path, "plan")
    line = one_line_error(proc)
    assert line.startswith("error: pipeline.yaml:4:6: byte 0xe9 is not UTF-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["doctor", "slipway/python:3.13"], "Error: Got unexpected extra argument(s)"),  # bootstrap takes names
        (["run", "--no-such-option"], "Error: No such option: --no-such-option"),
    ],
)
def test_usage_errors_exit_2_with_the_usage_text(tmp_path: Path, argv: list[str], message: str) -> None:
    proc, _ = run_cli(tmp_path, *argv)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stderr.startswith("Usage: python -m pipeline ")
    assert message in proc.stderr
