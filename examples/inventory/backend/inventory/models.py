"""Tables. The schema itself is owned by Alembic (migrations/); keep both in step."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import Base

# Weighted so a hit in the name ranks above one in the description.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple', coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(description, '')), 'B')"
)


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    ADJUSTMENT = "adjustment"


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    reorder_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True
    )

    batches: Mapped[list[StockBatch]] = relationship(
        back_populates="product", order_by="StockBatch.received_at, StockBatch.id"
    )

    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
        Index("ix_products_search_vector", "search_vector", postgresql_using="gin"),
    )


class StockBatch(Base):
    __tablename__ = "stock_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(80), default="", server_default="")
    quantity_received: Mapped[int] = mapped_column(Integer)
    quantity_remaining: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    product: Mapped[Product] = relationship(back_populates="batches")

    __table_args__ = (
        CheckConstraint("quantity_received > 0", name="received_positive"),
        CheckConstraint(
            "quantity_remaining >= 0 AND quantity_remaining <= quantity_received",
            name="remaining_within_received",
        ),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        # FIFO reads the open batches of one product, oldest first.
        Index(
            "ix_stock_batches_open_fifo",
            "product_id",
            "received_at",
            "id",
            postgresql_where="quantity_remaining > 0",
        ),
    )


class StockMovement(Base):
    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    kind: Mapped[MovementKind] = mapped_column(
        Enum(MovementKind, name="movement_kind", values_callable=lambda e: [m.value for m in e])
    )
    # Signed: receipts add, issues subtract, adjustments either way.
    quantity: Mapped[int] = mapped_column(Integer)
    total_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    allocations: Mapped[list[MovementAllocation]] = relationship(
        back_populates="movement", cascade="all, delete-orphan", order_by="MovementAllocation.id"
    )

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_stock_movements_product_occurred", "product_id", "occurred_at"),
    )


class MovementAllocation(Base):
    """Which batch an outgoing movement drew from: the audit trail of FIFO costing."""

    __tablename__ = "movement_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movements.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("stock_batches.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 4))

    movement: Mapped[StockMovement] = relationship(back_populates="allocations")

    __table_args__ = (CheckConstraint("quantity > 0", name="allocation_positive"),)
