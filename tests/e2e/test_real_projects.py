"""Real projects run with no change: each fixture shape (tests/projects/shapes.py) goes
through ``python -m pipeline init`` and then ``python -m pipeline run --only tests`` on the
real Docker Engine, green, with no edit to the project or to what init wrote.

Each shape's public images (python:X-slim, postgres:N) run as the local look-alikes that
``images bootstrap`` builds (this machine reaches no registry). A look-alike this tree
can build is built when missing (slow once, then reused); one it cannot build at all
(Python 3.14, PostgreSQL 17 and 18 come with the base images of the `images` work) is
a skip that names the image: the shape cannot run here, and the test says so rather
than aliasing another version in.

Long (each shape builds its test image once, then runs its tests in containers):
run it alone, under the shared lock,
``flock /tmp/slipway-suite.lock .venv/bin/pytest tests/e2e/test_real_projects.py``.
With ``SLIPWAY_REAL_PROJECTS_OUT=FILE`` each shape appends one JSON line (what init
detected, the run's wall time and tests) for docs/real-projects.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from pipeline.detect import detect
from pipeline.init import lookalike, propose
from tests.fixture_projects import load_shapes

REPO = Path(__file__).resolve().parents[2]

# Two cores, several jobs per shape, a test image built from PyPI on the first run.
pytestmark = pytest.mark.timeout(1800)

shapes = load_shapes()


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=30)
        c.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a Docker Engine (scripts/setup-machine starts one): {exc}")
    return c


def _buildable_bases() -> set[str]:
    """The base images this tree's ``images bootstrap`` can build: its table of bases
    (``pipeline.model.bases`` since the images work, ``BASE_IMAGES`` before it)."""
    for module, name in (
        ("pipeline.model.bases", "BASES"),
        ("pipeline.engines.docker.bootstrap", "BASE_IMAGES"),
    ):
        try:
            return {b.tag for b in getattr(importlib.import_module(module), name)}
        except (ImportError, AttributeError):
            continue
    return set()


def _base_images_or_skip(client: docker.DockerClient, root: Path) -> list[str]:
    """The look-alikes the shape needs, built when this tree can build them; a skip naming
    the ones it cannot (never another version in their place)."""
    needed = sorted({t for ref in propose(detect(root)).images() if (t := lookalike(ref)) is not None})
    buildable = _buildable_bases()
    missing = []
    for tag in needed:
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            missing.append(tag)
    unknown = [t for t in missing if t not in buildable]
    if unknown:
        pytest.skip(
            f"needs base image(s) {', '.join(unknown)}, which `images bootstrap` of this tree cannot build "
            f"(it builds {', '.join(sorted(buildable))}); the shape cannot run on this machine"
        )
    if missing:
        built = _pipeline("images", "bootstrap", *missing, cwd=root)
        assert built.returncode == 0, f"images bootstrap {' '.join(missing)}: {built.stdout}{built.stderr}"
    return needed


def _pipeline(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )


@pytest.mark.parametrize("shape", list(shapes.SHAPES))
def test_init_then_run_tests_is_green_with_no_edit(
    shape: str, tmp_path: Path, client: docker.DockerClient
) -> None:
    root = shapes.write(shape, tmp_path / shape)
    before = shapes.files(shape)
    images = _base_images_or_skip(client, root)

    init = _pipeline("init", str(root), cwd=root)
    assert init.returncode == 0, init.stdout + init.stderr
    # What init wrote is used as it is: no edit between init and run.
    start = time.monotonic()
    run = _pipeline("run", "--config", str(root / "pipeline.yaml"), "--only", "tests", cwd=root)
    seconds = time.monotonic() - start
    assert run.returncode == 0, (
        f"{shape}: run exited {run.returncode}\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    )

    report = json.loads((root / "slipway-report" / "report.json").read_text())
    assert report["status"] == "success"
    tests = report["tests"]
    assert tests["passed"] > 0 and tests["failed"] == 0 and tests["errors"] == 0, tests
    # The project's own files are as the shape wrote them (init adds pipeline.yaml and,
    # when there was none, Dockerfile.test; the run writes its report folder only).
    for rel, text in before.items():
        assert (root / rel).read_text(encoding="utf-8") == text, f"{rel} changed"

    found = init.stdout.split("found:", 1)[1].split("\nwrote ", 1)[0]
    out = os.environ.get("SLIPWAY_REAL_PROJECTS_OUT")
    if out:
        line = {
            "shape": shape,
            "found": [f.strip() for f in found.strip().splitlines()],
            "images": images,
            "run_s": round(seconds, 1),
            "tests": tests,
            "jobs": {j["name"]: [j["status"], j["duration_s"], j.get("detail")] for j in report["jobs"]},
        }
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
