"""What the Docker engine copies into a container: Dagger's include/exclude meaning."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from pipeline.engines.docker.build import from_images
from pipeline.engines.docker.tar import directory_tar, extract_output, selected_files
from pipeline.model.aliases import resolve_alias
from pipeline.model.joblog import JobLog, LineSplitter
from pipeline.model.paths import matches
from pipeline.model.secrets import Redactor
from pipeline.model.spec import DirectoryMount


def tree(root: Path, *files: str) -> Path:
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text(f)
    return root


def test_patterns_match_whole_relative_paths_and_parents() -> None:
    assert matches("node_modules/x/y.js", ["node_modules"])
    assert not matches("web/node_modules/y.js", ["node_modules"])
    assert matches("web/node_modules/y.js", ["**/node_modules"])
    assert matches("a/b/c.py", ["**/*.py"])
    assert matches("c.py", ["**/*.py"])
    assert not matches("a/c.pyc", ["**/*.py"])


def test_selection_with_include_and_exclude(tmp_path: Path) -> None:
    src = tree(
        tmp_path,
        "pyproject.toml",
        "app/main.py",
        "app/__pycache__/main.cpython-311.pyc",
        "tests/test_main.py",
        "frontend/node_modules/react/index.js",
        ".git/HEAD",
    )
    got = set(
        selected_files(src, include=["app", "tests", "pyproject.toml"], exclude=["**/__pycache__", ".git"])
    )
    assert {"pyproject.toml", "app/main.py", "tests/test_main.py"} <= got
    assert not any("__pycache__" in p or "node_modules" in p or ".git" in p for p in got)


def test_directory_tar_places_files_under_dest_owned_by_root(tmp_path: Path) -> None:
    src = tree(tmp_path / "src", "a.txt", "sub/b.txt")
    data = directory_tar(DirectoryMount(source=src, dest="/work/app"))
    with data, tarfile.open(fileobj=data) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {"work", "work/app", "work/app/a.txt", "work/app/sub/b.txt"} <= set(members)
    assert all(m.uid == 0 and m.uname == "root" for m in members.values())


def test_extract_output_mirrors_the_container_path(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"<xml/>"
        info = tarfile.TarInfo("reports/junit.xml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    host = extract_output([buf.getvalue()], "/app/reports", tmp_path)
    assert host == tmp_path / "app" / "reports"
    assert (host / "junit.xml").read_bytes() == b"<xml/>"


def test_a_secret_split_across_chunks_is_still_masked(tmp_path: Path) -> None:
    with JobLog(tmp_path / "log", Redactor(["hunter22"])) as log:
        lines = LineSplitter(log)
        for chunk in (b"pass=hun", b"ter22\nnext", b" line"):
            lines.feed(chunk)
        lines.flush()
    assert (tmp_path / "log").read_text() == "pass=***\nnext line\n"


def test_from_lines_name_external_images_only() -> None:
    dockerfile = (
        "ARG BASE=python:3.12\n"
        "FROM --platform=linux/amd64 python:3.11-slim AS deps\n"
        "FROM deps AS test\n"
        "FROM node:20-slim as web\n"
        "FROM $BASE\n"
        "FROM scratch\n"
    )
    assert from_images(dockerfile) == ["python:3.11-slim", "node:20-slim"]


def test_alias_resolution() -> None:
    aliases = {"postgres:15": "slipway/postgres:15", "redis:latest": "local/redis:7"}
    assert resolve_alias("postgres:15", aliases) == "slipway/postgres:15"
    assert resolve_alias("redis", aliases) == "local/redis:7"
    assert resolve_alias("python:3.12", aliases) == "python:3.12"
