"""Builders for test data, going through the services so rows are always valid."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from inventory.models import Product, StockBatch
from inventory.schemas import ProductCreate, ReceiptIn
from inventory.services import ProductService, StockService
from sqlalchemy.orm import Session

_counter = itertools.count(1)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_product(
    session: Session,
    *,
    sku: str | None = None,
    name: str = "Hex bolt M8",
    description: str = "",
    unit_price: str = "0.50",
    reorder_level: int = 0,
) -> Product:
    return ProductService(session).create(
        ProductCreate(
            sku=sku or f"TST-{next(_counter)}",
            name=name,
            description=description,
            unit_price=Decimal(unit_price),
            reorder_level=reorder_level,
        )
    )


def receive(
    session: Session,
    product: Product,
    quantity: int,
    unit_cost: str,
    *,
    day: int = 0,
    reference: str = "",
) -> StockBatch:
    return StockService(session).receive(
        product.id,
        ReceiptIn(
            quantity=quantity,
            unit_cost=Decimal(unit_cost),
            reference=reference,
            received_at=T0 + timedelta(days=day),
        ),
    )
