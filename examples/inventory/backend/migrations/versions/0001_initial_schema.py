"""Initial schema: products, stock batches, stock movements and their FIFO allocations.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple', coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(description, '')), 'B')"
)

movement_kind = postgresql.ENUM("receipt", "issue", "adjustment", name="movement_kind")


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("reorder_level", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR_SQL, persisted=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("sku", name="uq_products_sku"),
        sa.CheckConstraint("unit_price >= 0", name="ck_products_unit_price_not_negative"),
        sa.CheckConstraint("reorder_level >= 0", name="ck_products_reorder_level_not_negative"),
    )
    op.create_index("ix_products_search_vector", "products", ["search_vector"], postgresql_using="gin")

    op.create_table(
        "stock_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False, server_default=""),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_remaining", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(12, 4), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stock_batches"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_stock_batches_product_id_products",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("quantity_received > 0", name="ck_stock_batches_received_positive"),
        sa.CheckConstraint(
            "quantity_remaining >= 0 AND quantity_remaining <= quantity_received",
            name="ck_stock_batches_remaining_within_received",
        ),
        sa.CheckConstraint("unit_cost >= 0", name="ck_stock_batches_unit_cost_not_negative"),
    )
    op.create_index(
        "ix_stock_batches_open_fifo",
        "stock_batches",
        ["product_id", "received_at", "id"],
        postgresql_where=sa.text("quantity_remaining > 0"),
    )

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", movement_kind, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("total_cost", sa.Numeric(14, 2), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stock_movements"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_stock_movements_product_id_products",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("quantity <> 0", name="ck_stock_movements_quantity_not_zero"),
    )
    op.create_index("ix_stock_movements_product_occurred", "stock_movements", ["product_id", "occurred_at"])

    op.create_table(
        "movement_allocations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(12, 4), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_movement_allocations"),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["stock_movements.id"],
            name="fk_movement_allocations_movement_id_stock_movements",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["stock_batches.id"],
            name="fk_movement_allocations_batch_id_stock_batches",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_movement_allocations_allocation_positive"),
    )
    op.create_index("ix_movement_allocations_movement_id", "movement_allocations", ["movement_id"])


def downgrade() -> None:
    op.drop_table("movement_allocations")
    op.drop_index("ix_stock_movements_product_occurred", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index("ix_stock_batches_open_fifo", table_name="stock_batches")
    op.drop_table("stock_batches")
    op.drop_index("ix_products_search_vector", table_name="products")
    op.drop_table("products")
    movement_kind.drop(op.get_bind(), checkfirst=True)
