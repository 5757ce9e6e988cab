"""The Alembic history and the ORM models describe the same schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from inventory.db import Base
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from tests.conftest import alembic_config


def test_database_is_at_head(db_session: Session) -> None:
    context = MigrationContext.configure(db_session.connection())
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert context.get_current_revision() == head


def test_models_match_migrations(db_session: Session) -> None:
    context = MigrationContext.configure(db_session.connection())
    diff = [
        d
        for d in compare_metadata(context, Base.metadata)
        # The marker table belongs to the test suite, not the app.
        if not (d[0] == "remove_table" and d[1].name == "pytest_session_marker")
    ]
    assert diff == []


def test_history_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1


@pytest.mark.parametrize("table", ["products", "stock_batches", "stock_movements", "movement_allocations"])
def test_tables_exist(db_session: Session, table: str) -> None:
    assert inspect(db_session.connection()).has_table(table)


@pytest.mark.parametrize(
    ("table", "index"),
    [
        ("products", "ix_products_search_vector"),
        ("stock_batches", "ix_stock_batches_open_fifo"),
        ("stock_movements", "ix_stock_movements_product_occurred"),
        ("movement_allocations", "ix_movement_allocations_movement_id"),
    ],
)
def test_indexes_exist(db_session: Session, table: str, index: str) -> None:
    names = {ix["name"] for ix in inspect(db_session.connection()).get_indexes(table)}
    assert index in names


def test_search_index_is_gin(db_session: Session) -> None:
    method = db_session.execute(
        text(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'ix_products_search_vector'"
        )
    ).scalar_one()
    assert method == "gin"


def test_movement_kind_enum_values(db_session: Session) -> None:
    labels = db_session.execute(text("SELECT unnest(enum_range(NULL::movement_kind))::text")).scalars().all()
    assert labels == ["receipt", "issue", "adjustment"]
