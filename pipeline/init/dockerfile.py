"""Dockerfile.test as ``init`` writes it: the project's dependencies, installed the way its
manager locks them, into a virtual environment of their own, plus the tools Slipway
drives pytest with; no source code (Slipway copies the checkout in at run time).

The dependencies go into ``/opt/venv`` and the installers (uv, poetry, pdm, pipenv) into
``/opt/tools``: neither touches the system interpreter's packages, which on a Debian
based image belong to Debian (``pip install poetry`` into them fails there, where the
official image lets it through).
"""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

from pipeline.init.proposal import Proposal, TestImage

MARK = "written by `slipway init`"
_PIP = ("pip", "pip3")
_TOOL_SPECS = ("poetry", "uv", "pdm", "pipenv", "pip-tools", "pip")
_REQ = "/tmp/requirements.txt"  # noqa: S108  (inside the image build)


def _pip_argv(argv: tuple[str, ...]) -> list[str] | None:
    """The arguments of a ``pip install`` (also ``python -m pip install``), else None."""
    if argv[:2] in tuple((p, "install") for p in _PIP):
        return list(argv[2:])
    if argv[1:4] == ("-m", "pip", "install"):
        return list(argv[4:])
    return None


def _pip_install(image: TestImage) -> tuple[list[str], tuple[str, ...] | None]:
    """(pip install arguments, extras of the project itself when the CI installs it)."""
    args: list[str] = []
    extras: tuple[str, ...] | None = None
    for argv in image.install.value:
        rest = _pip_argv(argv)
        if rest is None:
            continue
        i = 0
        while i < len(rest):
            arg = rest[i]
            if arg in ("-r", "--requirement", "-c", "--constraint") and i + 1 < len(rest):
                args += [arg, rest[i + 1]]
                i += 2
                continue
            target = rest[i + 1] if arg in ("-e", "--editable") and i + 1 < len(rest) else arg
            if arg in ("-e", "--editable"):
                i += 1
            if target.startswith((".", "/")) or target == "-e.":
                # The project itself: its declared dependencies (it is on PYTHONPATH instead).
                inside = target.partition("[")[2].rstrip("]")
                extras = tuple(e.strip() for e in inside.split(",") if e.strip())
            elif (
                not target.startswith("-")
                and target.split("[")[0].split("=")[0].split(">")[0] not in _TOOL_SPECS
            ):
                args.append(target)
            i += 1
    return args, extras


def _project_deps_command(extras: tuple[str, ...]) -> str:
    """A RUN (exec form) writing pyproject.toml's [project] dependencies and extras to a file."""
    code = (
        "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; "
        f"extras = {list(extras)!r}; "
        "deps = p.get('dependencies', []) + "
        "[d for e in extras for d in p.get('optional-dependencies', {}).get(e, [])]; "
        f"open({_REQ!r}, 'w').write(chr(10).join(deps) + chr(10))"
    )
    return "RUN " + json.dumps(["python", "-c", code])


def _groups_flags(root: Path, image: TestImage, group_flag: str, extra_flag: str | None) -> list[str]:
    try:
        data = tomllib.loads((root / image.project_dir / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    groups = set(data.get("dependency-groups", {})) | set(
        data.get("tool", {}).get("poetry", {}).get("group", {})
    )
    extras = set(data.get("project", {}).get("optional-dependencies", {}))
    flags: list[str] = []
    for name in image.groups:
        if name in groups:
            flags += [group_flag, name]
        elif name in extras and extra_flag is not None:
            flags += [extra_flag, name]
    return flags


def install_lines(root: Path, image: TestImage) -> list[str]:
    """The RUN lines that install the project's dependencies into /opt/venv."""
    manager = image.manager.value
    if manager == "uv":
        flags = ["--frozen", "--no-emit-project", "--no-header"]
        if image.workspace:
            flags += ["--all-packages", "--no-emit-workspace"]
        flags += _groups_flags(root, image, "--group", "--extra")
        return [
            "RUN /opt/tools/bin/pip install --no-cache-dir uv \\\n"
            f" && /opt/tools/bin/uv export {' '.join(flags)} -o {_REQ} \\\n"
            f" && /opt/tools/bin/uv pip install --python /opt/venv/bin/python --require-hashes -r {_REQ}"
        ]
    if manager == "poetry":
        flags = _groups_flags(root, image, "--with", "--extras")
        return [
            "RUN /opt/tools/bin/pip install --no-cache-dir poetry \\\n"
            " && POETRY_VIRTUALENVS_CREATE=false /opt/tools/bin/poetry install --no-root --no-interaction"
            + "".join(f" {shlex.quote(f)}" for f in flags)
        ]
    if manager == "pdm":
        return [
            "RUN /opt/tools/bin/pip install --no-cache-dir pdm \\\n"
            f" && /opt/tools/bin/pdm export -o {_REQ} && pip install --no-cache-dir -r {_REQ}"
        ]
    if manager == "pipenv":
        return [
            "RUN /opt/tools/bin/pip install --no-cache-dir pipenv \\\n"
            f" && /opt/tools/bin/pipenv requirements --dev > {_REQ} && pip install --no-cache-dir -r {_REQ}"
        ]
    args, extras = _pip_install(image)
    lines = []
    if extras is not None or not args:
        lines.append(_project_deps_command(extras or ()))
        args += ["-r", _REQ]
    lines.append("RUN pip install --no-cache-dir " + " ".join(shlex.quote(a) for a in args))
    return lines


def render_dockerfile(p: Proposal) -> str:
    image = p.image
    root = Path(p.root)
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Test base image for {p.project_name.value}, {MARK}: the project's dependencies and the",
        "# tools Slipway drives pytest with, no source code (Slipway copies it in at run time).",
        "# Its tag is a digest of this file and the dependency files: rebuilt only when they change.",
        f"FROM python:{image.python.value}-slim",
        "ENV VIRTUAL_ENV=/opt/venv \\",
        "    PATH=/opt/venv/bin:$PATH \\",
        "    PYTHONDONTWRITEBYTECODE=1 \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1 \\",
        "    UV_PYTHON_DOWNLOADS=never",
        "# The tests' environment, and one for the installers: the system's own packages stay as they are.",
        "RUN python3 -m venv /opt/venv && python3 -m venv /opt/tools",
    ]
    for key in image.key_files:
        lines.append(f"COPY {key.value} /deps/{key.value}")
    workdir = "/deps" if image.project_dir in ("", ".") else f"/deps/{image.project_dir}"
    lines.append(f"WORKDIR {workdir}")
    lines += install_lines(root, image)
    if image.extra_packages:
        lines.append("# What Slipway runs pytest with, which the project does not declare.")
        lines.append(
            "RUN pip install --no-cache-dir " + " ".join(shlex.quote(x) for x in image.extra_packages)
        )
    modules = ["pytest", "xdist"]
    if p.coverage is not None:
        modules.append("pytest_cov")
    lines.append(f'RUN python -c "import {", ".join(modules)}"')
    lines += ["WORKDIR /src", 'CMD ["python", "-m", "pytest"]']
    return "\n".join(lines) + "\n"
