"""Data access: the only module that writes SQL. Services call these, never the session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session, selectinload

from inventory.domain.fifo import Lot
from inventory.domain.pagination import Page
from inventory.models import MovementKind, Product, StockBatch, StockMovement


class ProductRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, product: Product) -> Product:
        self.session.add(product)
        self.session.flush()
        return product

    def get(self, product_id: int) -> Product | None:
        return self.session.get(Product, product_id)

    def get_by_sku(self, sku: str) -> Product | None:
        return self.session.scalars(select(Product).where(Product.sku == sku)).one_or_none()

    def list_page(
        self, page: Page, *, active_only: bool = False, sku_prefix: str | None = None
    ) -> list[Product]:
        """Products by id after the cursor; fetches ``limit + 1`` to tell if more exist."""
        stmt = select(Product).order_by(Product.id).limit(page.limit + 1)
        if page.after_id is not None:
            stmt = stmt.where(Product.id > page.after_id)
        if active_only:
            stmt = stmt.where(Product.active.is_(True))
        if sku_prefix:
            # The prefix is a normalized SKU part ([A-Z0-9-]), so LIKE wildcards cannot sneak in.
            stmt = stmt.where(Product.sku.startswith(sku_prefix))
        return list(self.session.scalars(stmt))

    def count(self, *, active_only: bool = False) -> int:
        stmt = select(func.count()).select_from(Product)
        if active_only:
            stmt = stmt.where(Product.active.is_(True))
        return int(self.session.scalar(stmt) or 0)

    def search(self, tsquery: str, *, limit: int, active_only: bool = True) -> list[tuple[Product, float]]:
        """Full-text search over SKU, name and description, best rank first."""
        query = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery)
        rank = func.ts_rank_cd(Product.search_vector, query)
        stmt = (
            select(Product, rank.label("rank"))
            .where(Product.search_vector.op("@@")(query))
            .order_by(rank.desc(), Product.id)
            .limit(limit)
        )
        if active_only:
            stmt = stmt.where(Product.active.is_(True))
        return [(row[0], float(row[1])) for row in self.session.execute(stmt)]


class BatchRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, batch: StockBatch) -> StockBatch:
        self.session.add(batch)
        self.session.flush()
        return batch

    def _open(self, product_id: int) -> Select[tuple[StockBatch]]:
        return (
            select(StockBatch)
            .where(StockBatch.product_id == product_id, StockBatch.quantity_remaining > 0)
            .order_by(StockBatch.received_at, StockBatch.id)
        )

    def open_batches(self, product_id: int, *, lock: bool = False) -> list[StockBatch]:
        """Batches with stock left, oldest first.

        ``lock`` takes row locks so two concurrent issues cannot both spend the
        same units; the second waits for the first to commit.
        """
        stmt = self._open(product_id)
        if lock:
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    def for_product(self, product_id: int) -> list[StockBatch]:
        stmt = (
            select(StockBatch)
            .where(StockBatch.product_id == product_id)
            .order_by(StockBatch.received_at, StockBatch.id)
        )
        return list(self.session.scalars(stmt))

    def lots_by_product(self) -> dict[int, list[Lot]]:
        """Every open lot, grouped by product: the input of a valuation."""
        result: dict[int, list[Lot]] = {}
        stmt = (
            select(StockBatch)
            .where(StockBatch.quantity_remaining > 0)
            .order_by(StockBatch.product_id, StockBatch.received_at, StockBatch.id)
        )
        for batch in self.session.scalars(stmt):
            result.setdefault(batch.product_id, []).append(to_lot(batch))
        return result


class MovementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, movement: StockMovement) -> StockMovement:
        self.session.add(movement)
        self.session.flush()
        return movement

    def for_product(
        self, product_id: int, *, kind: MovementKind | None = None, limit: int = 100
    ) -> Sequence[StockMovement]:
        stmt = (
            select(StockMovement)
            .where(StockMovement.product_id == product_id)
            .options(selectinload(StockMovement.allocations))
            .order_by(StockMovement.occurred_at.desc(), StockMovement.id.desc())
            .limit(limit)
        )
        if kind is not None:
            stmt = stmt.where(StockMovement.kind == kind)
        return self.session.scalars(stmt).all()

    def units_issued_since(self, product_id: int, since: datetime) -> int:
        stmt = select(func.coalesce(func.sum(-StockMovement.quantity), 0)).where(
            StockMovement.product_id == product_id,
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.occurred_at >= since,
        )
        return int(self.session.scalar(stmt) or 0)


def to_lot(batch: StockBatch) -> Lot:
    return Lot(
        batch_id=batch.id,
        remaining=batch.quantity_remaining,
        unit_cost=batch.unit_cost,
        received_at=batch.received_at,
    )
