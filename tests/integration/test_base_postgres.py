"""Each PostgreSQL base behaves like the official postgres:N image, as CI uses it.

Per base, the servers start at once on a network of their own: one configured as a
compose file would (POSTGRES_USER/PASSWORD/DB, POSTGRES_INITDB_ARGS, two files in
/docker-entrypoint-initdb.d), one with `command: postgres -c fsync=off`, one with
POSTGRES_HOST_AUTH_METHOD=trust, one as an arbitrary uid on a tmpfs, one with no
password (which must refuse to start), and on 18+ the data-directory checks. The
checks connect from the host (psycopg, over the network as a client container
would) and from another container by name (psql -h db).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import psycopg
import pytest

from tests.integration.bases import base_param, ensure_base

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

MAJORS = [base_param(f"postgres:{m}") for m in ("15", "17", "18")]
SCHEMA_SQL = "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO item (name) VALUES ('from initdb.d');\n"
ROLE_SH = (
    "#!/bin/bash\nset -e\n"
    'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" '
    "-c \"CREATE ROLE reader LOGIN PASSWORD 'r'\"\n"
)
NO_PASSWORD_MESSAGE = "Error: Database is uninitialized and superuser password is not specified."


@dataclass
class Servers:
    image: str
    major: int
    network: str
    containers: dict[str, docker.models.containers.Container]
    client: docker.DockerClient

    def ip(self, name: str) -> str:
        c = self.containers[name]
        c.reload()
        return str(c.attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"])

    def connect(self, name: str, *, user: str, password: str = "", dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.ip(name), user=user, password=password, dbname=dbname, connect_timeout=5, autocommit=True
        )

    def query(self, name: str, sql: str, **kw: str) -> list[tuple[object, ...]]:
        with self.connect(name, **kw) as conn:  # type: ignore[arg-type]
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description is not None else []  # CREATE ... returns no rows

    def logs(self, name: str) -> str:
        return self.containers[name].logs().decode(errors="replace")


def _wait_tcp(servers: Servers, name: str, user: str, password: str, timeout: float = 180) -> None:
    """Ready when a TCP login works (the set-up server listens on the socket only)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        container = servers.containers[name]
        container.reload()
        if container.status == "exited":
            pytest.fail(f"{name} exited:\n{servers.logs(name)[-3000:]}")
        try:
            servers.query(name, "select 1", user=user, password=password)
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.5)
    pytest.fail(f"{name} not ready after {timeout}s ({last}):\n{servers.logs(name)[-3000:]}")


@pytest.fixture(scope="module", params=MAJORS)
def servers(
    request: pytest.FixtureRequest, docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    major = str(request.param).split(":")[1]
    image = ensure_base(f"postgres:{major}")
    init = tmp_path_factory.mktemp(f"initdb-{major}")
    (init / "01-schema.sql").write_text(SCHEMA_SQL)
    (init / "02-role.sh").write_text(ROLE_SH)
    init.chmod(0o755)
    for f in init.iterdir():
        f.chmod(0o644)
    suffix = uuid.uuid4().hex[:8]
    network = docker_client.networks.create(f"slipway-test-pg-{suffix}", labels={"dev.slipway.test": "pg"})
    made: dict[str, docker.models.containers.Container] = {}

    def start(name: str, **kw: object) -> None:
        made[name] = docker_client.containers.run(
            image, name=f"slipway-test-pg{major}-{name}-{suffix}", network=network.name, detach=True, **kw
        )

    try:
        start(
            "db",
            environment={
                "POSTGRES_USER": "shop",
                "POSTGRES_PASSWORD": "secret",
                "POSTGRES_DB": "shopdb",
                # -E as compose files write it: with lc-ctype C alone initdb (here and in the
                # official image) picks SQL_ASCII, and psycopg hands back bytes
                "POSTGRES_INITDB_ARGS": "-E UTF8 --data-checksums --lc-collate=C --lc-ctype=C",
            },
            volumes={str(init): {"bind": "/docker-entrypoint-initdb.d", "mode": "ro"}},
        )
        start("fsync", environment={"POSTGRES_PASSWORD": "pw"}, command=["postgres", "-c", "fsync=off", "-c", "max_connections=200"])
        start("trust", environment={"POSTGRES_HOST_AUTH_METHOD": "trust"})
        start("uid", user="4242:4242", environment={"POSTGRES_PASSWORD": "pw"}, tmpfs={"/var/lib/postgresql": "uid=4242,gid=4242"})
        start("nopass")
        yield Servers(image=image, major=int(major), network=network.name, containers=made, client=docker_client)
    finally:
        for container in made.values():
            container.remove(force=True, v=True)
        network.remove()


@pytest.fixture(scope="module")
def db(servers: Servers) -> Servers:
    _wait_tcp(servers, "db", "shop", "secret")
    return servers


def test_compose_style_env_creates_user_database_and_runs_initdb_d(db: Servers) -> None:
    [(user, dbname, version)] = db.query("db", "select current_user, current_database(), version()", user="shop", password="secret", dbname="shopdb")
    assert (user, dbname) == ("shop", "shopdb")
    assert str(version).startswith(f"PostgreSQL {db.major}.")
    assert db.query("db", "select name from item", user="shop", password="secret", dbname="shopdb") == [("from initdb.d",)]
    assert db.query("db", "select current_user", user="reader", password="r", dbname="shopdb") == [("reader",)]  # the .sh ran
    [(checksums, collate)] = db.query(
        "db",
        "select current_setting('data_checksums'), datcollate from pg_database where datname = 'shopdb'",
        user="shop", password="secret", dbname="shopdb",
    )
    assert (checksums, collate) == ("on", "C")  # POSTGRES_INITDB_ARGS, quoted as the official image reads it


def test_healthcheck_reports_healthy_once_the_server_takes_tcp(db: Servers) -> None:
    # A service with `readiness: {healthcheck: true}` waits on it (test_docker_engine.py).
    container = db.containers["db"]
    deadline = time.monotonic() + 60
    health = ""
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status", "no HEALTHCHECK")
        if health == "healthy":
            break
        time.sleep(0.5)
    assert health == "healthy", container.attrs["State"].get("Health")


def test_passwords_are_checked_and_there_is_no_postgres_role_when_user_is_set(db: Servers) -> None:
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "shop"'):
        db.query("db", "select 1", user="shop", password="wrong", dbname="shopdb")
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
        db.query("db", "select 1", user="postgres", password="secret")


def test_another_container_reaches_it_by_name_and_the_socket_trusts_inside(db: Servers) -> None:
    name = db.containers["db"].name
    text = db.client.containers.run(
        db.image,
        ["psql", "-h", name, "-U", "shop", "-d", "shopdb", "-Atc", "select count(*) from item"],
        environment={"PGPASSWORD": "secret"},
        network=db.network,
        remove=True,
    ).decode()
    assert text.strip() == "1"
    code, output = db.containers["db"].exec_run(["psql", "-U", "shop", "-d", "shopdb", "-Atc", "select 1"], user="postgres")
    assert (code, output.decode().strip()) == (0, "1")
    code, output = db.containers["db"].exec_run(["sh", "-c", 'command -v pg_isready psql initdb >/dev/null && cat "$PGDATA/PG_VERSION" && echo "$PGDATA"'])
    expected_dir = f"/var/lib/postgresql/{db.major}/docker" if db.major >= 18 else "/var/lib/postgresql/data"
    assert (code, output.decode().split()) == (0, [str(db.major), expected_dir])


def test_create_database_from_a_template_carries_the_data(db: Servers) -> None:
    kw = {"user": "shop", "password": "secret"}
    db.query("db", "CREATE DATABASE tmpl", **kw)
    db.query("db", "create table t(x int); insert into t values (7)", dbname="tmpl", **kw)
    db.query("db", "CREATE DATABASE clone TEMPLATE tmpl", **kw)
    assert db.query("db", "select x from t", dbname="clone", **kw) == [(7,)]


def test_restart_keeps_the_data_and_skips_initialisation(db: Servers) -> None:
    db.containers["db"].restart()
    _wait_tcp(db, "db", "shop", "secret")
    assert "initialization skipped" in db.logs("db")
    assert db.query("db", "select count(*) from item", user="shop", password="secret", dbname="shopdb") == [(1,)]


def test_command_override_keeps_listening_and_applies_settings(servers: Servers) -> None:
    _wait_tcp(servers, "fsync", "postgres", "pw")
    assert servers.query("fsync", "show fsync", user="postgres", password="pw") == [("off",)]
    assert servers.query("fsync", "show max_connections", user="postgres", password="pw") == [("200",)]
    # no POSTGRES_INITDB_ARGS: the official default collation
    [(collate,)] = servers.query("fsync", "select datcollate from pg_database where datname = 'postgres'", user="postgres", password="pw")
    assert collate == "en_US.utf8"


def test_no_password_refuses_to_start_as_the_official_image(servers: Servers) -> None:
    container = servers.containers["nopass"]
    result = container.wait(timeout=120)
    assert result["StatusCode"] == 1
    assert NO_PASSWORD_MESSAGE in servers.logs("nopass")


def test_host_auth_method_trust_needs_no_password(servers: Servers) -> None:
    _wait_tcp(servers, "trust", "postgres", "")
    assert servers.query("trust", "select current_user", user="postgres") == [("postgres",)]


def test_runs_as_an_arbitrary_uid_on_a_tmpfs(servers: Servers) -> None:
    _wait_tcp(servers, "uid", "postgres", "pw")
    assert servers.query("uid", "select current_user", user="postgres", password="pw") == [("postgres",)]


def test_18_keeps_its_data_per_major_and_refuses_the_old_place(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # A volume mounted where 17 and older kept their data: the official 18 image stops
    # with an explanation; an empty tmpfs there (compose's default for some) is ignored.
    image = ensure_base("postgres:18")
    (tmp_path / "PG_VERSION").write_text("15\n")
    refused = docker_client.containers.run(
        image, environment={"POSTGRES_PASSWORD": "pw"}, volumes={str(tmp_path): {"bind": "/var/lib/postgresql/data"}},
        detach=True,
    )
    ignored = docker_client.containers.run(
        image, environment={"POSTGRES_PASSWORD": "pw"}, tmpfs={"/var/lib/postgresql/data": ""}, detach=True
    )
    try:
        assert refused.wait(timeout=120)["StatusCode"] == 1
        assert "Mount the volume at /var/lib/postgresql instead" in refused.logs().decode()
        code, out = 1, b""
        for _ in range(240):
            code, out = ignored.exec_run(["pg_isready", "-q", "-h", "127.0.0.1"])
            if code == 0:
                break
            time.sleep(0.5)
        assert code == 0, ignored.logs().decode()[-2000:]
        code, out = ignored.exec_run(["sh", "-c", 'ls "$PGDATA/PG_VERSION"'])
        assert (code, out.decode().strip()) == (0, "/var/lib/postgresql/18/docker/PG_VERSION")
    finally:
        refused.remove(force=True, v=True)
        ignored.remove(force=True, v=True)
