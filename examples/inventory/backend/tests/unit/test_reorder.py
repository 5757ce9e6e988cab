from __future__ import annotations

import pytest
from inventory.domain.reorder import (
    ReorderSuggestion,
    StockStatus,
    daily_demand,
    stock_status,
    suggest_reorder,
)


@pytest.mark.parametrize(
    ("on_hand", "level", "status"),
    [
        (0, 0, StockStatus.OUT_OF_STOCK),
        (0, 10, StockStatus.OUT_OF_STOCK),
        (1, 10, StockStatus.BELOW_REORDER_LEVEL),
        (10, 10, StockStatus.BELOW_REORDER_LEVEL),
        (11, 10, StockStatus.OK),
        (1, 0, StockStatus.OK),
    ],
)
def test_stock_status(on_hand: int, level: int, status: StockStatus) -> None:
    assert stock_status(on_hand, level) is status


@pytest.mark.parametrize(("on_hand", "level"), [(-1, 0), (0, -1)])
def test_stock_status_rejects_negative(on_hand: int, level: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        stock_status(on_hand, level)


def test_status_values_are_stable_api_strings() -> None:
    assert [s.value for s in StockStatus] == ["out_of_stock", "below_reorder_level", "ok"]


@pytest.mark.parametrize(("issued", "days", "demand"), [(30, 30, 1.0), (0, 7, 0.0), (5, 2, 2.5)])
def test_daily_demand(issued: int, days: int, demand: float) -> None:
    assert daily_demand(issued, days) == demand


@pytest.mark.parametrize(("issued", "days"), [(1, 0), (1, -3), (-1, 5)])
def test_daily_demand_rejects_nonsense(issued: int, days: int) -> None:
    with pytest.raises(ValueError, match=r"positive|negative"):
        daily_demand(issued, days)


@pytest.mark.parametrize(
    ("on_hand", "level", "demand", "lead", "pack", "quantity"),
    [
        (50, 10, 2.0, 7, 1, 0),  # plenty: nothing to order
        (10, 10, 2.0, 7, 1, 24),  # 14 lead-time demand + 20 refill - 10 on hand
        (0, 10, 2.0, 7, 1, 34),
        (0, 10, 2.0, 7, 12, 36),  # rounded up to whole boxes of 12
        (5, 10, 0.0, 7, 1, 15),  # no demand: refill to twice the level
        (3, 5, 1.5, 3, 1, 12),  # ceil(4.5)=5, +10, -3
        (0, 0, 1.0, 0, 1, 0),  # out of stock but no level, no lead time: nothing needed
        (2, 4, 0.5, 10, 5, 15),  # 5+8-2=11 -> three packs of 5
    ],
)
def test_suggest_reorder_quantity(
    on_hand: int, level: int, demand: float, lead: int, pack: int, quantity: int
) -> None:
    suggestion = suggest_reorder(
        on_hand=on_hand,
        reorder_level=level,
        demand_per_day=demand,
        lead_time_days=lead,
        pack_size=pack,
    )
    assert suggestion.quantity == quantity
    assert suggestion.quantity % pack == 0


@pytest.mark.parametrize(("on_hand", "demand", "cover"), [(20, 2.0, 10.0), (7, 3.0, 2.3), (5, 0.0, None)])
def test_days_of_cover(on_hand: int, demand: float, cover: float | None) -> None:
    suggestion = suggest_reorder(on_hand=on_hand, reorder_level=100, demand_per_day=demand, lead_time_days=1)
    assert suggestion.days_of_cover == cover


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pack_size": 0},
        {"lead_time_days": -1},
        {"demand_per_day": -0.5},
    ],
)
def test_suggest_reorder_rejects_bad_input(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {
        "on_hand": 1,
        "reorder_level": 5,
        "demand_per_day": 1.0,
        "lead_time_days": 1,
        "pack_size": 1,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=r"pack size|negative"):
        suggest_reorder(**args)  # type: ignore[arg-type]


def test_suggestion_is_a_value() -> None:
    assert ReorderSuggestion(3, 1.0) == ReorderSuggestion(quantity=3, days_of_cover=1.0)
