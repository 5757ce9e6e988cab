"""What each pytest process does with the databases: migrate the template once, create its
own database (per the project's shape), and drop them all at the end.

Copied into the test container beside the plugin (as ``slipway_pytest_sessiondb``);
standard library, pytest and the project's PostgreSQL driver only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from .databases import DJANGO_PREFIX, WORKER_RE, Admin, Settings, variables_for
except ImportError:  # copied into the test container as a top-level module, beside this file
    from slipway_pytest_db import (  # type: ignore[import-not-found,no-redef]
        DJANGO_PREFIX,
        WORKER_RE,
        Admin,
        Settings,
        variables_for,
    )


@dataclass(frozen=True, slots=True)
class State:
    """What this process set up, for the report header, the job's report and the cleanup."""

    role: str  # "worker", "main" or "collect"
    shape: str  # shared | conftest_suffix | django
    why: str  # how the shape was known (configured, or what was read)
    database: str  # what the project's variables name
    migrated_s: float | None


def importable_path(*folders: str | Path) -> str:
    """PYTHONPATH with ``folders`` in front: the project's source importable by a command
    run from elsewhere (alembic's console script), as an editable install would make it."""
    parts = [str(f) for f in folders if str(f)]
    parts += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(parts))


def migrate(settings: Settings, project_dir: Path) -> float:
    """Run the migrate command into the template; returns its seconds."""
    cwd = settings.migrate_cwd or str(project_dir)
    env = {
        **os.environ,
        **variables_for(settings, settings.template),
        "PYTHONPATH": importable_path(cwd, project_dir),
    }
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(settings.migrate), env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise pytest.UsageError(
            f"slipway: cannot run the migrate command {list(settings.migrate)}: {exc}"
        ) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise pytest.UsageError(
            f"slipway: the migrate command {list(settings.migrate)} exited "
            f"{proc.returncode} (database {settings.template}):\n{tail}"
        )
    return time.monotonic() - started


def _suffixed(admin: Admin, base: str) -> list[str]:
    """``<base>_gw<N>`` databases on the server."""
    return [d for d in admin.databases(base + "\\_gw%") if WORKER_RE.match(d[len(base) + 1 :])]


def drop_all(settings: Settings) -> None:
    """Every database a run of this base name can have made (all shapes), at the end."""
    if settings.keep:
        return
    django = DJANGO_PREFIX + settings.base_name
    started = time.monotonic()
    try:
        with Admin(settings.admin_url) as admin:
            names = [
                *_suffixed(admin, settings.base_name),
                *_suffixed(admin, django),
                django,
                settings.main,
                settings.base_name,
                settings.template,
            ]
            for dbname in names:
                admin.drop(dbname)
        # After the last test and before the job ends: part of its fixed cost, so said.
        print(f"slipway: dropped the test databases in {time.monotonic() - started:.1f}s", file=sys.stderr)
    except Exception as exc:
        # The run's result must not change because a cleanup failed: the next
        # run drops leftovers before it creates anything anyway.
        print(f"slipway: could not drop the test databases: {exc}", file=sys.stderr)


def setup(
    settings: Settings,
    *,
    shape: str,
    why: str,
    worker_id: str | None,
    collect_only: bool,
    project_dir: Path,
) -> State:
    """Create this process's database (and, in the main process, the template)."""
    names = settings.names(shape, worker_id)
    if worker_id is not None:
        if names.creates is not None:
            with Admin(settings.admin_url) as admin:
                admin.create(names.creates, settings.template if settings.migrate else None)
        return State("worker", shape, why, names.points_at, None)
    if collect_only:
        return State("collect", shape, why, names.points_at, None)
    migrated_s = None
    with Admin(settings.admin_url) as admin:
        if shape == "django":
            # Leftovers of an earlier run on a shared server: --reuse-db must not pick
            # up a schema from other code.
            django = DJANGO_PREFIX + settings.base_name
            for dbname in [*_suffixed(admin, django), django]:
                admin.drop(dbname)
        if settings.migrate:
            admin.create(settings.template)
            migrated_s = migrate(settings, project_dir)
        else:
            admin.drop(settings.template)  # a leftover from a run that had one
        if names.creates is not None:
            admin.create(names.creates, settings.template if settings.migrate else None)
    return State("main", shape, why, names.points_at, migrated_s)


def header(settings: Settings, state: State) -> str:
    """The job log's line about the databases."""
    base = settings.base_name
    if state.migrated_s is None:
        how = "empty databases"
    else:
        how = f"cloned from {settings.template}, migrated in {state.migrated_s:.2f}s"
    if state.shape == "conftest_suffix":
        layout = f"the variables name {base} in every process; workers get {base}_gw<N>"
    elif state.shape == "django":
        layout = (
            f"the variables name {base}; pytest-django makes {DJANGO_PREFIX}{base} "
            f"({DJANGO_PREFIX}{base}_gw<N> per worker)"
        )
    else:
        layout = f"database {state.database}; per worker {base}_gw<N>"
    return f"slipway: per-worker databases: {state.shape} ({state.why}): {layout} ({how})"
