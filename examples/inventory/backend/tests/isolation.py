"""Detect two concurrent test sessions sharing one database.

Each session commits a marker row when it first touches the database (conftest's
``session_claim``). If another session of the same run wrote into *our* database,
the parallel runner gave several workers one database, and tests that count or
look up rows would interfere with each other in ways that only show up as flakes.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import MARKER_TABLE, SessionClaim

# How long to wait for the other sessions of this run to show up. They normally do
# within a second of starting; the wait only runs out when a session had no database
# tests at all, or finished before this one got here.
RENDEZVOUS_TIMEOUT_S = 10.0


def _expected_sessions() -> int:
    # Set by pytest-xdist in each worker; a serial run is one session.
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def sessions_in_this_database(session: Session, claim: SessionClaim) -> set[str]:
    rows = session.execute(text(f"SELECT label FROM {MARKER_TABLE} WHERE run_id = :r"), {"r": claim.run_id})
    return {row[0] for row in rows}


def live_sessions_anywhere(session: Session, claim: SessionClaim) -> set[str]:
    """Sessions of this run connected to any database of this server right now."""
    prefix = f"inventory-tests {claim.run_id} "
    rows = session.execute(
        text("SELECT application_name FROM pg_stat_activity WHERE starts_with(application_name, :p)"),
        {"p": prefix},
    )
    return {row[0][len(prefix) :] for row in rows}


def other_sessions_sharing_database(session: Session, claim: SessionClaim) -> list[str]:
    """Labels of other sessions of this run that wrote into our database.

    First waits until every session of the run has registered somewhere (in this
    database, or connected to another one on the same server): without that wait,
    a run whose other worker had not yet reached its first database test would
    pass by luck on a shared database.
    """
    expected = _expected_sessions()
    deadline = time.monotonic() + RENDEZVOUS_TIMEOUT_S
    while True:
        here = sessions_in_this_database(session, claim)
        seen = here | live_sessions_anywhere(session, claim)
        if len(seen) >= expected or time.monotonic() >= deadline:
            return sorted(here - {claim.label})
        time.sleep(0.05)
