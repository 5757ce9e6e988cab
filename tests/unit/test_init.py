"""``slipway init`` and ``init --check``: what init writes loads, agrees with the repository
it was read from, and a pipeline.yaml that disagrees is reported with a non-zero exit.

The fixture projects (tests/projects/shapes.py) are the repositories: written by the
test, read by ``pipeline.detect``. No engine is needed (init only asks the Docker Engine
which look-alike base images exist, and says so when it cannot ask).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.commands.cli import main
from pipeline.config import load_config
from pipeline.config.model import PytestStage
from pipeline.detect import detect
from pipeline.init import check, propose, render, render_dockerfile
from pipeline.model.errors import EXIT_USAGE
from tests.fixture_projects import load_shapes

REPO = Path(__file__).resolve().parents[2]

shapes = load_shapes()
SHAPES = list(shapes.SHAPES)
# The shapes whose tests talk to PostgreSQL (all but none: each is a web backend with a database).
DB_SHAPES = {name for name, recipe in shapes.RECIPES.items() if recipe.db_name}


@pytest.mark.parametrize("shape", SHAPES)
def test_what_init_proposes_loads_and_agrees_with_the_repository(shape: str, tmp_path: Path) -> None:
    root = shapes.write(shape, tmp_path / shape)
    proposal = propose(detect(root))
    target = root / "pipeline.yaml"
    target.write_text(render(proposal), encoding="utf-8")
    if not proposal.image.existing:
        (root / proposal.image.dockerfile).write_text(render_dockerfile(proposal), encoding="utf-8")
    config = load_config(target, environ={})
    tests = [s for s in config.model.stages if isinstance(s, PytestStage)]
    assert tests, f"{shape}: init wrote no pytest stage"
    if shape in DB_SHAPES:
        assert any(s.database is not None for s in tests), f"{shape}: no stage gets the database"
        assert any(svc.image.startswith("postgres:") for svc in config.model.services.values())
    result = check(config, proposal)
    assert result.same, [str(d) for d in result.differences]
    assert result.compared


def test_init_writes_pipeline_and_dockerfile_then_check_agrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shapes.write("shared_db", tmp_path / "shared_db")
    assert main(["init", str(root)]) == 0
    said = capsys.readouterr().out
    assert "wrote" in said and "pipeline.yaml" in said
    assert (root / "pipeline.yaml").is_file()
    dockerfile = (root / "Dockerfile.test").read_text()
    assert dockerfile.startswith("# syntax=") and "FROM python:3.11" in dockerfile
    assert "migrate: [alembic, upgrade, head]" in (root / "pipeline.yaml").read_text()

    assert main(["init", "--check", str(root)]) == 0
    assert "agrees with the repository" in capsys.readouterr().out

    # A second init never replaces the file without --force: a usage error, exit 2.
    assert main(["init", str(root)]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err

    # --force rewrites both; its own Dockerfile.test raises no question about what it installs.
    assert main(["init", "--force", str(root)]) == 0
    said = capsys.readouterr().out
    assert "Dockerfile.test" in said and "used as it is" not in said


def test_check_reports_a_difference_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shapes.write("shared_db", tmp_path / "shared_db")
    assert main(["init", str(root)]) == 0
    capsys.readouterr()
    path = root / "pipeline.yaml"
    # The migrate command is the project's (its CI runs alembic): a different one is a difference.
    text = path.read_text()
    assert "migrate: [alembic, upgrade, head]" in text
    path.write_text(text.replace("migrate: [alembic, upgrade, head]", "migrate: [alembic, upgrade, base]"))
    assert main(["init", "--check", str(root)]) == 1
    said = capsys.readouterr().out
    assert "difference" in said and "migrate" in said


def test_check_without_a_pipeline_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shapes.write("create_all", tmp_path / "create_all")
    assert main(["init", "--check", str(root)]) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


def test_check_on_the_bundled_example_finds_no_difference(capsys: pytest.CaptureFixture[str]) -> None:
    # The hand-written pipeline.yaml of examples/inventory, at the repository's root.
    assert main(["init", "--check", str(REPO)]) == 0
    said = capsys.readouterr().out
    assert "agrees with the repository" in said
    # PostgreSQL's major version is a guess (the example defines no service): not compared.
    assert "PostgreSQL version" in said.split("not compared", 1)[1]
