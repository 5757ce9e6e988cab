"""Database fixtures shared by the integration and api tests.

The schema is migrated once per test session with Alembic (as production is), and
every test runs inside a transaction that is rolled back, so tests never see each
other's rows. Which database to use comes from DATABASE_URL and nothing else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from inventory.config import normalize_database_url
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

BACKEND_DIR = Path(__file__).resolve().parents[1]
MARKER_TABLE = "pytest_session_marker"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.fail(
            "DATABASE_URL is not set: point it at a PostgreSQL database these tests may "
            "migrate and write to, e.g. postgresql://postgres@localhost:5432/inventory_test",
            pytrace=False,
        )
    return normalize_database_url(url)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "migrations"))
    # Leave pytest's logging alone; alembic.ini would reconfigure the root logger.
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """This test session's mark in the database it uses (see test_database_isolation)."""

    run_id: str
    label: str
    application_name: str


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = create_engine(database_url())
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_claim(engine: Engine) -> Iterator[SessionClaim]:
    """Commit a row saying "this test session uses this database", and stay connected.

    Rows outlive a transaction rollback on purpose: a second test session pointed at
    the same database at the same time sees them. The run id comes from the test
    runner when it starts several sessions for one run (xdist's PYTEST_XDIST_TESTRUNUID),
    so sessions of one run can find each other; the label says which session it was.
    """
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    label = os.environ.get("PYTEST_XDIST_WORKER", "main")
    application_name = f"inventory-tests {run_id} {label}"
    connection = engine.connect()
    try:
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} ("
                " run_id text NOT NULL, label text NOT NULL,"
                " registered_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (run_id, label))"
            )
        )
        connection.execute(text(f"DELETE FROM {MARKER_TABLE} WHERE registered_at < now() - interval '1 day'"))
        connection.execute(
            text(f"INSERT INTO {MARKER_TABLE} (run_id, label) VALUES (:r, :l) ON CONFLICT DO NOTHING"),
            {"r": run_id, "l": label},
        )
        connection.commit()
        # Named only after the row is committed, so whoever sees this connection
        # can rely on the row being there.
        connection.execute(text("SELECT set_config('application_name', :n, false)"), {"n": application_name})
        connection.commit()
        yield SessionClaim(run_id=run_id, label=label, application_name=application_name)
    finally:
        connection.close()


@pytest.fixture
def db_session(engine: Engine, session_claim: SessionClaim) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
