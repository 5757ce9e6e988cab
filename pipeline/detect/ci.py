"""The project's own CI files: GitHub Actions, GitLab CI and Woodpecker, read as jobs.

Each job gives the shell commands it runs (one per line, with where it is
written), the environment it sets, the container images and Python versions it
asks for, and its service containers. The other detectors read these rather
than the files.
"""

from __future__ import annotations

from pipeline.detect.ci_github import github_jobs
from pipeline.detect.ci_gitlab import gitlab_jobs, woodpecker_jobs
from pipeline.detect.ci_model import Ci, CiJob, CiService, Command, System, python_of_image
from pipeline.detect.repo import Repo

__all__ = ["Ci", "CiJob", "CiService", "Command", "System", "python_of_image", "read_ci"]


def read_ci(repo: Repo) -> Ci:
    files: list[str] = []
    jobs: list[CiJob] = []
    for rel in repo.glob(".github/workflows/*.yml", ".github/workflows/*.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(github_jobs(rel, doc))
    for rel in repo.glob(".gitlab-ci.yml", ".gitlab-ci.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(gitlab_jobs(rel, doc))
    for rel in repo.glob(".woodpecker.yml", ".woodpecker.yaml", ".woodpecker/*.yml", ".woodpecker/*.yaml"):
        doc = repo.yaml_doc(rel)
        if doc is not None:
            files.append(rel)
            jobs.extend(woodpecker_jobs(rel, doc))
    return Ci(tuple(files), tuple(jobs))
