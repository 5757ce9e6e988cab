"""The small shared modules every layer relies on: exit codes, the CA bundle, paths."""

from __future__ import annotations

from pipeline.model.ca import CA_ENV_VARS, CA_PATH, ca_env
from pipeline.model.execs import EXIT_UNKNOWN, exit_code
from pipeline.model.paths import COPY_EXCLUDES, EXCLUDED_DIRS, Selection, matches


def test_an_exec_without_an_exit_code_failed() -> None:
    # One of three hand-written copies read a missing code as 0: a success.
    assert exit_code({"Running": True, "ExitCode": None}) is None  # still running
    assert exit_code({"Running": False, "ExitCode": 0}) == 0
    assert exit_code({"Running": False, "ExitCode": 3}) == 3
    assert exit_code({"Running": False, "ExitCode": None}) == EXIT_UNKNOWN != 0
    assert exit_code({}) == EXIT_UNKNOWN


def test_the_ca_bundle_is_named_by_every_variable_tools_read() -> None:
    assert dict(ca_env()) == dict.fromkeys(CA_ENV_VARS, CA_PATH)
    assert {"SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} <= set(CA_ENV_VARS)


def test_one_excluded_directories_list_for_copies_keys_and_scans() -> None:
    assert ".venv" in EXCLUDED_DIRS and "node_modules" in EXCLUDED_DIRS
    assert matches("backend/.venv/lib/x.py", COPY_EXCLUDES)
    assert matches(".git/HEAD", COPY_EXCLUDES)
    assert not matches("backend/app/venvironment.py", COPY_EXCLUDES)


def test_globs_are_anchored_and_a_directory_takes_its_contents() -> None:
    assert matches("uv.lock", ["*.lock"]) and not matches("sub/uv.lock", ["*.lock"])
    assert matches("sub/uv.lock", ["**/*.lock"])
    assert matches("src/app/models.py", ["src"]) and matches("src/top.py", ["src/**/*.py"])
    assert matches("a/b", ["*"])  # "a" matches, and takes "a/b" with it
    assert matches("#notes.txt", ["#notes.txt"]) and matches("!x", ["!x"])  # literal, not comment/negation
    sel = Selection.from_globs(["src", "!src/**/*.json"])
    assert sel.selects("src/a.py") and not sel.selects("src/d/x.json") and not sel.selects("docs/a.py")
    assert Selection().selects("anything/at/all")
