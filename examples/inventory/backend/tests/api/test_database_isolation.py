"""API suite copy of the check: fails when another test session shares this database."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import SessionClaim
from tests.isolation import other_sessions_sharing_database, sessions_in_this_database


def test_this_session_is_registered_in_its_database(db_session: Session, session_claim: SessionClaim) -> None:
    assert session_claim.label in sessions_in_this_database(db_session, session_claim)


def test_no_other_test_session_shares_this_database(db_session: Session, session_claim: SessionClaim) -> None:
    others = other_sessions_sharing_database(db_session, session_claim)
    assert others == [], (
        f"test session {session_claim.label!r} shares its database with {others}: "
        "give each parallel worker its own database"
    )
