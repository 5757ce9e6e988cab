from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from inventory.domain.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidQuantityError,
    NotFoundError,
)
from inventory.domain.reorder import StockStatus
from inventory.models import MovementAllocation, MovementKind, Product, StockBatch, StockMovement
from inventory.schemas import AdjustmentIn, ReceiptIn
from inventory.services import ProductService, StockService
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import T0, make_product, receive


@pytest.fixture
def stock(db_session: Session) -> StockService:
    return StockService(db_session)


@pytest.fixture
def stocked(db_session: Session) -> Product:
    """10 @ 1.00 (day 0), 10 @ 2.00 (day 1), 5 @ 3.00 (day 2), received out of order."""
    product = make_product(db_session, reorder_level=5)
    receive(db_session, product, 5, "3.00", day=2, reference="PO-3")
    receive(db_session, product, 10, "1.00", day=0, reference="PO-1")
    receive(db_session, product, 10, "2.00", day=1, reference="PO-2")
    return product


def remaining_by_reference(db_session: Session, product: Product) -> dict[str, int]:
    rows = db_session.execute(
        select(StockBatch.reference, StockBatch.quantity_remaining).where(StockBatch.product_id == product.id)
    )
    return {reference: remaining for reference, remaining in rows}


def test_receive_creates_batch_and_receipt_movement(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    batch = stock.receive(product.id, ReceiptIn(quantity=12, unit_cost=Decimal("0.2500"), reference="PO-9"))
    assert (batch.quantity_received, batch.quantity_remaining) == (12, 12)
    movement = db_session.scalars(select(StockMovement).where(StockMovement.product_id == product.id)).one()
    assert (movement.kind, movement.quantity, movement.total_cost, movement.note) == (
        MovementKind.RECEIPT,
        12,
        Decimal("3.00"),
        "PO-9",
    )


def test_receive_defaults_received_at_to_now(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    batch = stock.receive(product.id, ReceiptIn(quantity=1, unit_cost=Decimal(1)))
    db_session.refresh(batch)
    now = db_session.scalar(select(func.now()))
    assert now is not None
    assert abs(batch.received_at - now) < timedelta(minutes=1)


def test_receive_for_missing_product(stock: StockService) -> None:
    with pytest.raises(NotFoundError):
        stock.receive(555555, ReceiptIn(quantity=1, unit_cost=Decimal(1)))


def test_receive_into_inactive_product_conflicts(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    ProductService(db_session).deactivate(product.id)
    with pytest.raises(ConflictError, match="inactive"):
        stock.receive(product.id, ReceiptIn(quantity=1, unit_cost=Decimal(1)))


@pytest.mark.parametrize(
    ("quantity", "cost", "left"),
    [
        (4, "4.00", {"PO-1": 6, "PO-2": 10, "PO-3": 5}),
        (10, "10.00", {"PO-1": 0, "PO-2": 10, "PO-3": 5}),
        (13, "16.00", {"PO-1": 0, "PO-2": 7, "PO-3": 5}),
        (22, "36.00", {"PO-1": 0, "PO-2": 0, "PO-3": 3}),
        (25, "45.00", {"PO-1": 0, "PO-2": 0, "PO-3": 0}),
    ],
)
def test_issue_consumes_batches_oldest_first(
    stock: StockService,
    db_session: Session,
    stocked: Product,
    quantity: int,
    cost: str,
    left: dict[str, int],
) -> None:
    movement = stock.issue(stocked.id, quantity, note="order 1")
    assert movement.quantity == -quantity
    assert movement.total_cost == Decimal(cost)
    assert remaining_by_reference(db_session, stocked) == left


def test_issue_records_allocations(stock: StockService, db_session: Session, stocked: Product) -> None:
    movement = stock.issue(stocked.id, 12)
    rows = db_session.scalars(
        select(MovementAllocation)
        .where(MovementAllocation.movement_id == movement.id)
        .order_by(MovementAllocation.id)
    ).all()
    assert [(a.quantity, a.unit_cost) for a in rows] == [
        (10, Decimal("1.0000")),
        (2, Decimal("2.0000")),
    ]


def test_successive_issues_continue_fifo(stock: StockService, stocked: Product) -> None:
    first = stock.issue(stocked.id, 8)
    second = stock.issue(stocked.id, 8)
    assert (first.total_cost, second.total_cost) == (Decimal("8.00"), Decimal("14.00"))


def test_issue_more_than_on_hand_changes_nothing(
    stock: StockService, db_session: Session, stocked: Product
) -> None:
    with pytest.raises(InsufficientStockError) as info:
        stock.issue(stocked.id, 26)
    assert (info.value.requested, info.value.available) == (26, 25)
    assert stock.level(stocked.id).on_hand == 25
    issues = stock.movements_of(stocked.id, kind=MovementKind.ISSUE)
    assert issues == []


def test_issue_without_stock(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    with pytest.raises(InsufficientStockError):
        stock.issue(product.id, 1)


@pytest.mark.parametrize("quantity", [0, -4])
def test_issue_rejects_non_positive(stock: StockService, stocked: Product, quantity: int) -> None:
    with pytest.raises(InvalidQuantityError):
        stock.issue(stocked.id, quantity)


def test_issue_for_missing_product(stock: StockService) -> None:
    with pytest.raises(NotFoundError):
        stock.issue(999_999, 1)


def test_stock_of_one_product_is_not_spent_by_another(
    stock: StockService, db_session: Session, stocked: Product
) -> None:
    other = make_product(db_session)
    receive(db_session, other, 3, "9.00")
    with pytest.raises(InsufficientStockError):
        stock.issue(other.id, 4)
    assert stock.level(stocked.id).on_hand == 25


@pytest.mark.parametrize(
    ("issued", "on_hand", "value", "average", "status"),
    [
        (0, 25, "45.00", "1.8000", StockStatus.OK),
        (10, 15, "35.00", "2.3333", StockStatus.OK),
        (20, 5, "15.00", "3.0000", StockStatus.BELOW_REORDER_LEVEL),
        (25, 0, "0.00", None, StockStatus.OUT_OF_STOCK),
    ],
)
def test_stock_level_after_issues(
    stock: StockService,
    stocked: Product,
    issued: int,
    on_hand: int,
    value: str,
    average: str | None,
    status: StockStatus,
) -> None:
    if issued:
        stock.issue(stocked.id, issued)
    level = stock.level(stocked.id)
    assert level.on_hand == on_hand
    assert level.value == Decimal(value)
    assert level.average_unit_cost == (None if average is None else Decimal(average))
    assert level.status is status


def test_negative_adjustment_writes_off_oldest_stock(
    stock: StockService, db_session: Session, stocked: Product
) -> None:
    movement = stock.adjust(stocked.id, AdjustmentIn(quantity=-3, note="damaged"))
    assert (movement.kind, movement.quantity, movement.total_cost) == (
        MovementKind.ADJUSTMENT,
        -3,
        Decimal("3.00"),
    )
    assert remaining_by_reference(db_session, stocked)["PO-1"] == 7


def test_negative_adjustment_beyond_stock_fails(stock: StockService, stocked: Product) -> None:
    with pytest.raises(InsufficientStockError):
        stock.adjust(stocked.id, AdjustmentIn(quantity=-30, note="count"))
    assert stock.level(stocked.id).on_hand == 25


def test_positive_adjustment_at_given_cost(
    stock: StockService, db_session: Session, stocked: Product
) -> None:
    movement = stock.adjust(stocked.id, AdjustmentIn(quantity=4, note="found", unit_cost=Decimal("0.50")))
    assert (movement.quantity, movement.total_cost) == (4, Decimal("2.00"))
    assert stock.level(stocked.id).on_hand == 29


def test_positive_adjustment_defaults_to_average_cost(stock: StockService, stocked: Product) -> None:
    movement = stock.adjust(stocked.id, AdjustmentIn(quantity=5, note="found"))
    assert movement.total_cost == Decimal("9.00")  # 5 x 1.80 average


def test_positive_adjustment_without_stock_needs_a_cost(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    with pytest.raises(InvalidQuantityError, match="unit_cost"):
        stock.adjust(product.id, AdjustmentIn(quantity=5, note="found"))


def test_found_stock_is_issued_after_older_batches(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session)
    receive(db_session, product, 2, "1.00", day=0)
    stock.adjust(product.id, AdjustmentIn(quantity=2, note="found", unit_cost=Decimal("5")))
    assert stock.issue(product.id, 3).total_cost == Decimal("7.00")


def test_movements_newest_first_with_kind_filter(
    stock: StockService, db_session: Session, stocked: Product
) -> None:
    stock.issue(stocked.id, 1)
    stock.adjust(stocked.id, AdjustmentIn(quantity=-1, note="lost"))
    everything = stock.movements_of(stocked.id)
    assert [m.kind for m in everything][:2] == [MovementKind.ADJUSTMENT, MovementKind.ISSUE]
    assert len(everything) == 5
    receipts = stock.movements_of(stocked.id, kind=MovementKind.RECEIPT)
    assert {m.kind for m in receipts} == {MovementKind.RECEIPT}
    assert len(receipts) == 3


def test_movements_limit(stock: StockService, stocked: Product) -> None:
    assert len(stock.movements_of(stocked.id, limit=2)) == 2


def test_batches_listed_in_fifo_order(stock: StockService, stocked: Product) -> None:
    assert [b.reference for b in stock.batches_of(stocked.id)] == ["PO-1", "PO-2", "PO-3"]


def test_batches_of_missing_product(stock: StockService) -> None:
    with pytest.raises(NotFoundError):
        stock.batches_of(31337)


def test_valuation_sums_products(stock: StockService, db_session: Session, stocked: Product) -> None:
    other = make_product(db_session)
    receive(db_session, other, 4, "2.50")
    stock.issue(stocked.id, 10)
    valuation = stock.valuation()
    by_product = {p.product_id: p for p in valuation.products}
    assert by_product[stocked.id].value == Decimal("35.00")
    assert by_product[other.id].value == Decimal("10.00")
    assert valuation.total_value == sum(p.value for p in valuation.products)


def test_valuation_leaves_out_products_without_stock(stock: StockService, db_session: Session) -> None:
    empty = make_product(db_session)
    assert empty.id not in {p.product_id for p in stock.valuation().products}


@pytest.mark.parametrize(
    ("issued_per_day", "lead", "pack", "expected"),
    [(0, 7, 1, 0), (1, 7, 1, 0), (1, 10, 1, 0)],
)
def test_reorder_not_needed_while_stock_is_ok(
    stock: StockService,
    stocked: Product,
    issued_per_day: int,
    lead: int,
    pack: int,
    expected: int,
) -> None:
    suggestion = stock.reorder(stocked.id, lead_time_days=lead, pack_size=pack, now=T0)
    assert suggestion.quantity == expected


def test_reorder_uses_recent_issues_as_demand(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session, reorder_level=10)
    receive(db_session, product, 38, "1.00")
    stock.issue(product.id, 30)  # 30 issued in the 30-day window -> 1 unit per day
    suggestion = stock.reorder(product.id, lead_time_days=7, window_days=30)
    # on hand 8 <= level 10; target 7 + 20 = 27; need 19
    assert suggestion.quantity == 19
    assert suggestion.days_of_cover == 8.0


def test_reorder_ignores_issues_outside_the_window(stock: StockService, db_session: Session) -> None:
    product = make_product(db_session, reorder_level=10)
    receive(db_session, product, 38, "1.00")
    stock.issue(product.id, 30)
    far_future = T0 + timedelta(days=3650)
    suggestion = stock.reorder(product.id, lead_time_days=7, window_days=30, now=far_future)
    assert suggestion.quantity == 12  # no recent demand: refill 20 - 8
    assert suggestion.days_of_cover is None


def test_database_refuses_overdrawn_batch(db_session: Session, stocked: Product) -> None:
    # The CHECK constraint is the last line of defence if a code path skipped FIFO.
    from sqlalchemy.exc import IntegrityError

    batch = db_session.scalars(select(StockBatch).where(StockBatch.product_id == stocked.id)).first()
    assert batch is not None
    with pytest.raises(IntegrityError), db_session.begin_nested():
        batch.quantity_remaining = -1
        db_session.flush()
