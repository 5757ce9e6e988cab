from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from inventory.domain import fifo
from inventory.domain.errors import InsufficientStockError, InvalidQuantityError
from inventory.domain.fifo import Allocation, Lot

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def lot(batch_id: int, remaining: int, cost: str, day: int = 0) -> Lot:
    return Lot(batch_id, remaining, Decimal(cost), T0 + timedelta(days=day))


@pytest.fixture
def three_lots() -> list[Lot]:
    # Deliberately out of order: FIFO must sort by received date, not list position.
    return [lot(3, 5, "3.00", day=2), lot(1, 10, "1.00", day=0), lot(2, 10, "2.00", day=1)]


def test_fifo_order_is_oldest_first(three_lots: list[Lot]) -> None:
    assert [x.batch_id for x in fifo.fifo_order(three_lots)] == [1, 2, 3]


def test_fifo_order_breaks_ties_by_batch_id() -> None:
    lots = [lot(9, 1, "1"), lot(4, 1, "1"), lot(7, 1, "1")]
    assert [x.batch_id for x in fifo.fifo_order(lots)] == [4, 7, 9]


def test_available_sums_remaining(three_lots: list[Lot]) -> None:
    assert fifo.available(three_lots) == 25
    assert fifo.available([]) == 0


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (1, [(1, 1, "1.00")]),
        (10, [(1, 10, "1.00")]),
        (11, [(1, 10, "1.00"), (2, 1, "2.00")]),
        (20, [(1, 10, "1.00"), (2, 10, "2.00")]),
        (21, [(1, 10, "1.00"), (2, 10, "2.00"), (3, 1, "3.00")]),
        (25, [(1, 10, "1.00"), (2, 10, "2.00"), (3, 5, "3.00")]),
    ],
)
def test_allocate_takes_oldest_lots_first(
    three_lots: list[Lot], quantity: int, expected: list[tuple[int, int, str]]
) -> None:
    allocations = fifo.allocate(three_lots, quantity)
    assert [(a.batch_id, a.quantity, str(a.unit_cost)) for a in allocations] == expected
    assert sum(a.quantity for a in allocations) == quantity


@pytest.mark.parametrize(
    ("quantity", "cost"),
    [(1, "1.00"), (10, "10.00"), (11, "12.00"), (15, "20.00"), (20, "30.00"), (25, "45.00")],
)
def test_allocation_cost_follows_fifo(three_lots: list[Lot], quantity: int, cost: str) -> None:
    assert fifo.allocation_cost(fifo.allocate(three_lots, quantity)) == Decimal(cost)


@pytest.mark.parametrize("quantity", [26, 100])
def test_allocate_more_than_on_hand_raises_with_numbers(three_lots: list[Lot], quantity: int) -> None:
    with pytest.raises(InsufficientStockError) as info:
        fifo.allocate(three_lots, quantity)
    assert (info.value.requested, info.value.available) == (quantity, 25)


@pytest.mark.parametrize("quantity", [0, -1, -10])
def test_allocate_refuses_non_positive_quantity(three_lots: list[Lot], quantity: int) -> None:
    with pytest.raises(InvalidQuantityError):
        fifo.allocate(three_lots, quantity)


def test_allocate_from_no_lots_is_insufficient() -> None:
    with pytest.raises(InsufficientStockError) as info:
        fifo.allocate([], 1)
    assert info.value.available == 0


def test_allocate_skips_empty_lots() -> None:
    lots = [lot(1, 0, "9.99", day=0), lot(2, 4, "1.00", day=1)]
    assert fifo.allocate(lots, 3) == [Allocation(2, 3, Decimal("1.00"))]


def test_allocation_cost_property() -> None:
    assert Allocation(1, 3, Decimal("0.3333")).cost == Decimal("0.9999")


def test_allocation_cost_rounds_to_cents() -> None:
    allocations = [Allocation(1, 3, Decimal("0.3333"))]
    assert fifo.allocation_cost(allocations) == Decimal("1.00")


def test_apply_reduces_lots(three_lots: list[Lot]) -> None:
    after = fifo.apply(three_lots, fifo.allocate(three_lots, 12))
    remaining = {x.batch_id: x.remaining for x in after}
    assert remaining == {1: 0, 2: 8, 3: 5}


def test_apply_then_allocate_continues_where_it_left_off(three_lots: list[Lot]) -> None:
    after = fifo.apply(three_lots, fifo.allocate(three_lots, 12))
    assert fifo.allocate(after, 3) == [Allocation(2, 3, Decimal("2.00"))]


def test_apply_rejects_unknown_batches(three_lots: list[Lot]) -> None:
    with pytest.raises(ValueError, match="unknown batches"):
        fifo.apply(three_lots, [Allocation(99, 1, Decimal(1))])


def test_apply_rejects_overdraw(three_lots: list[Lot]) -> None:
    with pytest.raises(InsufficientStockError):
        fifo.apply(three_lots, [Allocation(3, 6, Decimal(3))])


def test_apply_merges_several_allocations_of_one_batch(three_lots: list[Lot]) -> None:
    after = fifo.apply(three_lots, [Allocation(1, 2, Decimal(1)), Allocation(1, 3, Decimal(1))])
    assert next(x for x in after if x.batch_id == 1).remaining == 5


def test_apply_does_not_mutate_input(three_lots: list[Lot]) -> None:
    fifo.apply(three_lots, fifo.allocate(three_lots, 25))
    assert fifo.available(three_lots) == 25


@pytest.mark.parametrize(
    ("lots", "value"),
    [
        ([], "0.00"),
        ([lot(1, 10, "1.00")], "10.00"),
        ([lot(1, 10, "1.00"), lot(2, 10, "2.00"), lot(3, 5, "3.00")], "45.00"),
        ([lot(1, 3, "0.3333")], "1.00"),
        ([lot(1, 0, "5.00")], "0.00"),
    ],
)
def test_valuation(lots: list[Lot], value: str) -> None:
    assert fifo.valuation(lots) == Decimal(value)


def test_average_unit_cost(three_lots: list[Lot]) -> None:
    assert fifo.average_unit_cost(three_lots) == Decimal("1.8000")


def test_average_unit_cost_of_empty_stock_is_none() -> None:
    assert fifo.average_unit_cost([]) is None
    assert fifo.average_unit_cost([lot(1, 0, "2")]) is None


def test_average_unit_cost_accepts_a_generator(three_lots: list[Lot]) -> None:
    assert fifo.average_unit_cost(x for x in three_lots) == Decimal("1.8000")


@pytest.mark.parametrize(("remaining", "cost"), [(-1, "1"), (1, "-0.01")])
def test_lot_refuses_negative_values(remaining: int, cost: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        lot(1, remaining, cost)


def test_cost_of_goods_plus_remaining_value_is_conserved(three_lots: list[Lot]) -> None:
    before = fifo.valuation(three_lots)
    allocations = fifo.allocate(three_lots, 17)
    after = fifo.apply(three_lots, allocations)
    assert fifo.allocation_cost(allocations) + fifo.valuation(after) == before


@pytest.mark.parametrize("quantity", range(1, 26, 4))
def test_fifo_cost_never_exceeds_average_cost_when_prices_rise(three_lots: list[Lot], quantity: int) -> None:
    # With rising purchase prices the oldest (cheapest) units go first.
    fifo_cost = fifo.allocation_cost(fifo.allocate(three_lots, quantity))
    average = fifo.average_unit_cost(three_lots)
    assert average is not None
    assert fifo_cost <= quantity * average
