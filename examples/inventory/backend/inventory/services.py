"""Use cases: each public method is one unit of work and commits it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.domain import fifo, search
from inventory.domain.errors import ConflictError, InvalidQuantityError, NotFoundError
from inventory.domain.money import round_money
from inventory.domain.pagination import Page
from inventory.domain.reorder import ReorderSuggestion, daily_demand, stock_status, suggest_reorder
from inventory.models import MovementAllocation, MovementKind, Product, StockBatch, StockMovement
from inventory.repositories import (
    BatchRepository,
    MovementRepository,
    ProductRepository,
    to_lot,
)
from inventory.schemas import (
    AdjustmentIn,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    ReceiptIn,
    SearchHit,
    SearchResults,
    StockLevelOut,
    ValuationOut,
)


class ProductService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.products = ProductRepository(session)

    def create(self, data: ProductCreate) -> Product:
        if self.products.get_by_sku(data.sku) is not None:
            raise ConflictError(f"a product with SKU {data.sku!r} already exists")
        product = Product(**data.model_dump())
        try:
            self.products.add(product)
        except IntegrityError as exc:
            # Lost a race with a concurrent create of the same SKU.
            self.session.rollback()
            raise ConflictError(f"a product with SKU {data.sku!r} already exists") from exc
        self.session.commit()
        return product

    def get(self, product_id: int) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise NotFoundError("product", product_id)
        return product

    def get_by_sku(self, sku: str) -> Product:
        product = self.products.get_by_sku(sku)
        if product is None:
            raise NotFoundError("product", sku)
        return product

    def update(self, product_id: int, data: ProductUpdate) -> Product:
        product = self.get(product_id)
        for field, value in data.model_dump(exclude_unset=True).items():
            if value is None:
                continue  # explicit nulls mean "leave as is"; no column is nullable
            setattr(product, field, value)
        self.session.commit()
        return product

    def deactivate(self, product_id: int) -> Product:
        product = self.get(product_id)
        product.active = False
        self.session.commit()
        return product

    def list_page(
        self, page: Page, *, active_only: bool = False, sku_prefix: str | None = None
    ) -> list[Product]:
        return self.products.list_page(page, active_only=active_only, sku_prefix=sku_prefix)

    def search(self, text: str, *, limit: int = 20) -> SearchResults:
        parsed = search.parse(text)
        tsquery = search.to_tsquery(parsed)
        if parsed.is_empty:
            return SearchResults(query=text, tsquery="", hits=[])
        hits = [
            SearchHit(
                product=ProductOut.model_validate(product),
                rank=round(rank, 6),
                snippet=search.highlight(product.name, parsed),
            )
            for product, rank in self.products.search(tsquery, limit=limit)
        ]
        return SearchResults(query=text, tsquery=tsquery, hits=hits)


class StockService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.products = ProductRepository(session)
        self.batches = BatchRepository(session)
        self.movements = MovementRepository(session)

    def _product(self, product_id: int) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise NotFoundError("product", product_id)
        return product

    def receive(self, product_id: int, data: ReceiptIn) -> StockBatch:
        product = self._product(product_id)
        if not product.active:
            raise ConflictError(f"product {product.sku} is inactive and cannot receive stock")
        batch = StockBatch(
            product_id=product.id,
            reference=data.reference,
            quantity_received=data.quantity,
            quantity_remaining=data.quantity,
            unit_cost=data.unit_cost,
        )
        if data.received_at is not None:
            batch.received_at = data.received_at
        self.batches.add(batch)
        self.movements.add(
            StockMovement(
                product_id=product.id,
                kind=MovementKind.RECEIPT,
                quantity=data.quantity,
                total_cost=round_money(data.quantity * data.unit_cost),
                note=data.reference,
            )
        )
        self.session.commit()
        return batch

    def _take(self, product_id: int, quantity: int, kind: MovementKind, note: str) -> StockMovement:
        batches = {b.id: b for b in self.batches.open_batches(product_id, lock=True)}
        allocations = fifo.allocate([to_lot(b) for b in batches.values()], quantity)
        movement = StockMovement(
            product_id=product_id,
            kind=kind,
            quantity=-quantity,
            total_cost=fifo.allocation_cost(allocations),
            note=note,
        )
        for allocation in allocations:
            batches[allocation.batch_id].quantity_remaining -= allocation.quantity
            movement.allocations.append(
                MovementAllocation(
                    batch_id=allocation.batch_id,
                    quantity=allocation.quantity,
                    unit_cost=allocation.unit_cost,
                )
            )
        self.movements.add(movement)
        return movement

    def issue(self, product_id: int, quantity: int, note: str = "") -> StockMovement:
        self._product(product_id)
        try:
            movement = self._take(product_id, quantity, MovementKind.ISSUE, note)
        except Exception:
            self.session.rollback()
            raise
        self.session.commit()
        return movement

    def adjust(self, product_id: int, data: AdjustmentIn) -> StockMovement:
        """Correct stock after a count: found units become a batch, lost units leave FIFO."""
        self._product(product_id)
        if data.quantity < 0:
            try:
                movement = self._take(product_id, -data.quantity, MovementKind.ADJUSTMENT, data.note)
            except Exception:
                self.session.rollback()
                raise
            self.session.commit()
            return movement
        unit_cost = data.unit_cost
        if unit_cost is None:
            # Found stock is valued at what the shelf already costs on average.
            unit_cost = fifo.average_unit_cost(to_lot(b) for b in self.batches.open_batches(product_id))
        if unit_cost is None:
            raise InvalidQuantityError("unit_cost is required when the product has no stock")
        self.batches.add(
            StockBatch(
                product_id=product_id,
                reference="adjustment",
                quantity_received=data.quantity,
                quantity_remaining=data.quantity,
                unit_cost=unit_cost,
            )
        )
        movement = self.movements.add(
            StockMovement(
                product_id=product_id,
                kind=MovementKind.ADJUSTMENT,
                quantity=data.quantity,
                total_cost=round_money(data.quantity * unit_cost),
                note=data.note,
            )
        )
        self.session.commit()
        return movement

    def level(self, product_id: int) -> StockLevelOut:
        product = self._product(product_id)
        lots = [to_lot(b) for b in self.batches.open_batches(product_id)]
        on_hand = fifo.available(lots)
        return StockLevelOut(
            product_id=product.id,
            sku=product.sku,
            on_hand=on_hand,
            value=fifo.valuation(lots),
            average_unit_cost=fifo.average_unit_cost(lots),
            status=stock_status(on_hand, product.reorder_level),
        )

    def batches_of(self, product_id: int) -> list[StockBatch]:
        self._product(product_id)
        return self.batches.for_product(product_id)

    def movements_of(
        self, product_id: int, *, kind: MovementKind | None = None, limit: int = 100
    ) -> list[StockMovement]:
        self._product(product_id)
        return list(self.movements.for_product(product_id, kind=kind, limit=limit))

    def valuation(self) -> ValuationOut:
        lots_by_product = self.batches.lots_by_product()
        levels: list[StockLevelOut] = []
        for product_id, lots in sorted(lots_by_product.items()):
            product = self._product(product_id)
            on_hand = fifo.available(lots)
            levels.append(
                StockLevelOut(
                    product_id=product_id,
                    sku=product.sku,
                    on_hand=on_hand,
                    value=fifo.valuation(lots),
                    average_unit_cost=fifo.average_unit_cost(lots),
                    status=stock_status(on_hand, product.reorder_level),
                )
            )
        total = round_money(sum((level.value for level in levels), Decimal(0)))
        return ValuationOut(total_value=total, products=levels)

    def reorder(
        self,
        product_id: int,
        *,
        lead_time_days: int,
        window_days: int = 30,
        pack_size: int = 1,
        now: datetime | None = None,
    ) -> ReorderSuggestion:
        product = self._product(product_id)
        now = now or datetime.now(UTC)
        issued = self.movements.units_issued_since(product_id, now - timedelta(days=window_days))
        on_hand = fifo.available(to_lot(b) for b in self.batches.open_batches(product_id))
        return suggest_reorder(
            on_hand=on_hand,
            reorder_level=product.reorder_level,
            demand_per_day=daily_demand(issued, window_days),
            lead_time_days=lead_time_days,
            pack_size=pack_size,
        )
