"""From a path seen in a job's container back to the same file in the repository.

CI systems name files relative to the repository's root: GitHub's annotations,
the ``file`` attribute GitLab and the JUnit actions read. A job sees the project
copied to ``/src`` and pytest names files relative to its rootdir (the stage's
workdir, or above it where the ini file is). ``PathMap`` holds what maps one to
the other; ``repository_root`` finds the root (git's top level).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.config.model import PytestStage
from pipeline.stages.base import SOURCE_DIR


@dataclass(frozen=True, slots=True, kw_only=True)
class PathMap:
    """How a test's path maps back to the repository (GitHub's workspace).

    ``project_dir``: the project root relative to the repository root ("" when
    they are the same). ``container_root``: where the project root is copied in
    a job's container. ``workdirs``: per stage, pytest's rootdir relative to the
    project root (the stage's ``workdir``), which JUnit's relative paths start from
    when the job did not say its rootdir. ``repo_root``: the repository on disk,
    to check which reading of an ambiguous path exists.
    """

    project_dir: str = ""
    container_root: str = SOURCE_DIR
    workdirs: Mapping[str, str] = field(default_factory=dict)
    repo_root: Path | None = None

    def to_repo(self, path: str, *, stage: str | None = None) -> str | None:
        """The repository-relative path, or None for a path outside the project."""
        path = path.replace("\\", "/")
        if posixpath.isabs(path):
            root = self.container_root.rstrip("/") or "/"
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                return None
            inside = posixpath.relpath(path, root)
        else:
            inside = posixpath.join(self.workdirs.get(stage or "", "."), path)
        mapped = posixpath.normpath(posixpath.join(self.project_dir or ".", inside))
        return None if mapped == ".." or mapped.startswith("../") else mapped

    def test_file(self, path: str, *, stage: str | None = None, rootdir: str | None = None) -> str | None:
        """The repository path of a test file as pytest named it in a job of ``stage``.

        With the job's ``rootdir`` (the progress plugin reports it) the answer is
        exact. Without it the path is read from the stage's workdir, and, when that
        file does not exist but one relative to the project root does, from there:
        pytest's rootdir is where its ini file is, which can sit above the workdir.
        """
        if rootdir and not posixpath.isabs(path):
            return self.to_repo(posixpath.join(rootdir, path))
        found = self.to_repo(path, stage=stage)
        if self.repo_root is not None and found and not (self.repo_root / found).is_file():
            other = self.to_repo(path)
            if other and (self.repo_root / other).is_file():
                return other
        return found


def repository_root(start: Path, env: Mapping[str, str] | None = None) -> Path:
    """The root of the repository ``start`` is in: git's top level (a ``.git`` directory,
    or the file a worktree has), else GitHub's workspace when it holds ``start``, else
    ``start`` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    workspace = (os.environ if env is None else env).get("GITHUB_WORKSPACE")
    if workspace:
        root = Path(workspace).resolve()
        if start == root or root in start.parents:
            return root
    return start


def path_map(config: Config, env: Mapping[str, str] | None = None) -> PathMap:
    """The run's map: where the project sits in the repository, each pytest stage's workdir."""
    root = repository_root(config.base_dir, env)
    project = Path(os.path.relpath(config.project_root, root)).as_posix()
    return PathMap(
        project_dir="" if project == "." else project,
        workdirs={s.name: s.workdir for s in config.model.stages if isinstance(s, PytestStage)},
        repo_root=root,
    )
