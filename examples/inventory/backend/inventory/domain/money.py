"""Decimal money helpers. Floats never touch prices or costs."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Unit costs keep four places so FIFO totals of many small units stay exact enough.
COST_PLACES = Decimal("0.0001")


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Parse ``value`` into a finite Decimal; floats are refused on purpose."""
    if isinstance(value, (bool, float)):
        raise TypeError("use str or Decimal for money, not float")
    try:
        result = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def round_money(value: Decimal) -> Decimal:
    """Round to cents the way invoices do (half up, not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def weighted_average(pairs: list[tuple[int, Decimal]]) -> Decimal | None:
    """Average unit cost of ``(quantity, unit_cost)`` pairs, or None when empty."""
    total_qty = sum(qty for qty, _ in pairs)
    if total_qty == 0:
        return None
    total = sum((qty * cost for qty, cost in pairs), Decimal(0))
    return round_cost(total / total_qty)


def margin_percent(price: Decimal, cost: Decimal) -> Decimal | None:
    """Gross margin of selling at ``price`` something that cost ``cost``; None if free."""
    if price == 0:
        return None
    return ((price - cost) / price * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
