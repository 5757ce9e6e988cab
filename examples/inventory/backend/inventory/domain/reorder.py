"""When to reorder a product and how much, from its stock and recent demand."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class StockStatus(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    BELOW_REORDER_LEVEL = "below_reorder_level"
    OK = "ok"


def stock_status(on_hand: int, reorder_level: int) -> StockStatus:
    if on_hand < 0 or reorder_level < 0:
        raise ValueError("stock and reorder level cannot be negative")
    if on_hand == 0:
        return StockStatus.OUT_OF_STOCK
    if on_hand <= reorder_level:
        return StockStatus.BELOW_REORDER_LEVEL
    return StockStatus.OK


@dataclass(frozen=True, slots=True)
class ReorderSuggestion:
    quantity: int
    days_of_cover: float | None


def daily_demand(issued_units: int, days: int) -> float:
    if days <= 0:
        raise ValueError("days must be positive")
    if issued_units < 0:
        raise ValueError("issued units cannot be negative")
    return issued_units / days


def suggest_reorder(
    *,
    on_hand: int,
    reorder_level: int,
    demand_per_day: float,
    lead_time_days: int,
    pack_size: int = 1,
) -> ReorderSuggestion:
    """Order enough to cover lead-time demand and refill to twice the reorder level.

    The quantity is rounded up to whole packs; suppliers do not ship half a box.
    """
    if pack_size < 1:
        raise ValueError("pack size must be at least 1")
    if lead_time_days < 0 or demand_per_day < 0:
        raise ValueError("lead time and demand cannot be negative")
    cover = None if demand_per_day == 0 else round(on_hand / demand_per_day, 1)
    if stock_status(on_hand, reorder_level) is StockStatus.OK:
        return ReorderSuggestion(quantity=0, days_of_cover=cover)
    target = math.ceil(demand_per_day * lead_time_days) + 2 * reorder_level
    needed = max(target - on_hand, 0)
    packs = math.ceil(needed / pack_size)
    return ReorderSuggestion(quantity=packs * pack_size, days_of_cover=cover)
