"""Check by hand that each fixture project really works, the way its own CI runs it.

Writes each shape into a scratch folder, creates its database role and database
on a PostgreSQL server you give (``--admin-url``), installs its dependencies from
PyPI with its own tool (pip, poetry, uv) into ``<project>/.venv`` and runs its
install, prepare and test commands (``shapes.RECIPES``). Standard library only;
needs ``psql`` and, per shape, pip / poetry / uv on PATH. A shape whose Python is
not the one running this script can run in a container (``--container
SHAPE=IMAGE``, with ``--network host`` so it reaches the same server).

    python tests/projects/verify.py --admin-url postgresql://postgres@127.0.0.1:55433/postgres \\
        --workdir /tmp/shapes-verify [SHAPE ...]

This is not part of the test suite: the end-to-end runs go through Slipway.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import shapes  # a script beside this one, not a package


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def prepare_database(admin_url: str, recipe: shapes.Recipe) -> None:
    """A fresh role and database, as the shape's compose or CI service would make them."""
    user, db = recipe.db_user, recipe.db_name
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    if user != "postgres":
        _psql(
            admin_url,
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN "
            f"CREATE ROLE \"{user}\" LOGIN CREATEDB PASSWORD '{recipe.db_password}'; END IF; END $$",
        )
    _psql(admin_url, f'CREATE DATABASE "{db}" OWNER "{user}"')


def run_shape(name: str, root: Path, admin_url: str, python: str, container: str | None) -> bool:
    recipe = shapes.RECIPES[name]
    project = root / name
    if project.exists():
        shutil.rmtree(project)
    shapes.write(name, project)
    prepare_database(admin_url, recipe)
    server = urlsplit(admin_url)
    venv = project / ".venv"
    env = {k: v.format(host=server.hostname, port=server.port or 5432) for k, v in recipe.env.items()}
    tool_env = {
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    if container is None:
        tool_env["UV_PYTHON"] = python
        if not any(cmd[0] in ("uv", "poetry") for cmd in recipe.install):
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
    steps = [*recipe.install, *recipe.prepare, *recipe.tests]
    ok = True
    for step in steps:
        argv = [part.format(python=venv / "bin" / "python", venv=venv) for part in step]
        if container is not None:
            flags = [f"-e{k}={v}" for k, v in {**tool_env, **env}.items()]
            argv = [
                "docker",
                "run",
                "--rm",
                "--network",
                "host",
                "-v",
                f"{project}:{project}",
                "-w",
                str(project),
                *flags,
                container,
                *argv,
            ]
        started = time.monotonic()
        proc = subprocess.run(
            argv,
            cwd=project,
            env={**os.environ, **tool_env, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        took = time.monotonic() - started
        tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-1:]
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        print(f"  {shlex.join(step)}: {status} in {took:.1f}s  {tail[0] if tail else ''}")
        if proc.returncode != 0:
            print(textwrap_indent(proc.stdout + proc.stderr))
            ok = False
            break
    return ok


def textwrap_indent(text: str) -> str:
    lines = text.splitlines()[-60:]
    return "\n".join("    | " + line for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", required=True, help="a superuser URL of the PostgreSQL server")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venvs")
    parser.add_argument("--container", action="append", default=[], metavar="SHAPE=IMAGE")
    parser.add_argument("shapes", nargs="*")
    args = parser.parse_args(argv)
    containers = dict(item.split("=", 1) for item in args.container)
    args.workdir.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.shapes or list(shapes.SHAPES):
        print(f"{name}:")
        if not run_shape(name, args.workdir, args.admin_url, args.python, containers.get(name)):
            failed.append(name)
    print("all green" if not failed else f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
