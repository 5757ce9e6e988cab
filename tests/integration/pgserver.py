"""A real PostgreSQL server for the plugin's tests: initdb and pg_ctl from the host's
PostgreSQL binaries, on a free port, with a password that must be escaped in a URL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("SLIPWAY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "s3cret:@/"  # characters that must be escaped in a URL


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def admin_url(self) -> str:
        return f"postgresql://slipway:s3cret%3A%40%2F@{self.host}:{self.port}/postgres"

    def databases(self) -> set[str]:
        with psycopg.connect(self.admin_url()) as conn:
            return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not (PG_BIN / "initdb").exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"PostgreSQL server binaries not found in {PG_BIN}")
    # initdb refuses to run as root: the cluster belongs to the postgres user,
    # in a directory it owns (pytest's own tmp dirs are private to root).
    as_root = os.geteuid() == 0
    owner = pwd.getpwnam("postgres") if as_root else None
    base = Path(tempfile.mkdtemp(prefix="slipway-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data, port = base / "data", _free_port()
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-U", "slipway", "-A", "scram-sha-256",
         f"--pwfile={pwfile}", "--no-sync"],
        check=True, capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
    subprocess.run(
        [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts,
         "-w", "start"],
        check=True, capture_output=True,
    )
    try:
        yield Server("127.0.0.1", port)
    finally:
        subprocess.run([*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
