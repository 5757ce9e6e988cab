"""What of a checkout a test container gets (issue 13, finding 7): .dockerignore as Docker
reads it, exceptions included, the stage's globs, never the run's report or Slipway's state."""

from __future__ import annotations

from pathlib import Path

from pipeline.engines.docker.tar import selected_files
from pipeline.stages.pytest.sources import dockerignore_excludes, source_mount


def tree(root: Path, *files: str) -> Path:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return root


def copied(root: Path, **kwargs: object) -> set[str]:
    mount = source_mount(root, "/src", include=(), exclude=(), report_dir=root / "slipway-report", **kwargs)  # type: ignore[arg-type]
    return {p for p in selected_files(root, mount.include, mount.exclude) if (root / p).is_file()}


def test_unrelated_folders_the_dockerignore_names_stay_out(tmp_path: Path) -> None:
    root = tree(tmp_path, "app/main.py", "tests/test_a.py", "datasets/big.csv", "notes.sqlite",
                "app/cache.sqlite", "slipway-report/report.json", ".slipway/last-run.json")
    (root / ".dockerignore").write_text("datasets\n*.sqlite\n")
    assert copied(root) == {"app/main.py", "app/cache.sqlite", "tests/test_a.py", ".dockerignore"}


def test_exceptions_are_applied_in_order(tmp_path: Path) -> None:
    root = tree(tmp_path, "app/main.py", "app/local.env", "tests/test_a.py", "docs/guide.md", "README.md")
    (root / ".dockerignore").write_text("*\n!app\n!tests\napp/*.env\n")
    assert set(dockerignore_excludes(root)) == {".dockerignore", "README.md", "docs", "app/local.env"}
    assert copied(root) == {"app/main.py", "tests/test_a.py"}


def test_without_a_dockerignore_everything_but_tool_folders_is_copied(tmp_path: Path) -> None:
    root = tree(tmp_path, "app/main.py", ".venv/lib/x.py", "app/__pycache__/main.pyc")
    assert copied(root) == {"app/main.py"}
