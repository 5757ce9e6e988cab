"""First-in, first-out costing: which batches an issue of stock consumes, at what cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from inventory.domain.errors import InsufficientStockError, InvalidQuantityError
from inventory.domain.money import round_cost, round_money


@dataclass(frozen=True, slots=True)
class Lot:
    """What is left of one received batch."""

    batch_id: int
    remaining: int
    unit_cost: Decimal
    received_at: datetime

    def __post_init__(self) -> None:
        if self.remaining < 0:
            raise ValueError("a lot cannot hold negative stock")
        if self.unit_cost < 0:
            raise ValueError("a lot cannot have a negative unit cost")


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of an issue taken from one batch."""

    batch_id: int
    quantity: int
    unit_cost: Decimal

    @property
    def cost(self) -> Decimal:
        return self.quantity * self.unit_cost


def fifo_order(lots: Iterable[Lot]) -> list[Lot]:
    """Oldest first; the batch id breaks ties so the order is stable."""
    return sorted(lots, key=lambda lot: (lot.received_at, lot.batch_id))


def available(lots: Iterable[Lot]) -> int:
    return sum(lot.remaining for lot in lots)


def allocate(lots: Iterable[Lot], quantity: int) -> list[Allocation]:
    """Take ``quantity`` units from the oldest lots first.

    All or nothing: a short issue raises instead of allocating part of it.
    """
    if quantity <= 0:
        raise InvalidQuantityError("quantity to issue must be positive")
    ordered = fifo_order(lots)
    on_hand = available(ordered)
    if quantity > on_hand:
        raise InsufficientStockError(requested=quantity, available=on_hand)
    allocations: list[Allocation] = []
    still_needed = quantity
    for lot in ordered:
        if still_needed == 0:
            break
        if lot.remaining == 0:
            continue
        take = min(lot.remaining, still_needed)
        allocations.append(Allocation(lot.batch_id, take, lot.unit_cost))
        still_needed -= take
    return allocations


def allocation_cost(allocations: Sequence[Allocation]) -> Decimal:
    """Cost of goods issued, rounded to cents."""
    return round_money(sum((a.cost for a in allocations), Decimal(0)))


def apply(lots: Iterable[Lot], allocations: Sequence[Allocation]) -> list[Lot]:
    """The lots after ``allocations`` were taken from them (emptied lots kept at zero)."""
    taken: dict[int, int] = {}
    for a in allocations:
        taken[a.batch_id] = taken.get(a.batch_id, 0) + a.quantity
    result = []
    for lot in lots:
        left = lot.remaining - taken.pop(lot.batch_id, 0)
        if left < 0:
            raise InsufficientStockError(requested=lot.remaining - left, available=lot.remaining)
        result.append(Lot(lot.batch_id, left, lot.unit_cost, lot.received_at))
    if taken:
        raise ValueError(f"allocations name unknown batches: {sorted(taken)}")
    return result


def valuation(lots: Iterable[Lot]) -> Decimal:
    """Value of the stock on hand at what it cost, rounded to cents."""
    return round_money(sum((lot.remaining * lot.unit_cost for lot in lots), Decimal(0)))


def average_unit_cost(lots: Iterable[Lot]) -> Decimal | None:
    lots = list(lots)
    units = available(lots)
    if units == 0:
        return None
    total = sum((lot.remaining * lot.unit_cost for lot in lots), Decimal(0))
    return round_cost(total / units)
