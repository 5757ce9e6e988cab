from __future__ import annotations

from decimal import Decimal

import pytest
from inventory.domain.money import (
    margin_percent,
    round_cost,
    round_money,
    to_decimal,
    weighted_average,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.50", Decimal("1.50")),
        (3, Decimal(3)),
        (Decimal("0.0001"), Decimal("0.0001")),
        ("-2", Decimal(-2)),
        (" 7.25 ", Decimal("7.25")),
    ],
)
def test_to_decimal_parses_exact_values(value: Decimal | int | str, expected: Decimal) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", [1.5, True])
def test_to_decimal_refuses_float_and_bool(value: object) -> None:
    with pytest.raises(TypeError, match="not float"):
        to_decimal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["abc", "1,50", "NaN", "Infinity", "-inf"])
def test_to_decimal_refuses_non_numbers(value: str) -> None:
    with pytest.raises(ValueError, match="number"):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),
        ("2.344", "2.34"),
        ("2.345", "2.35"),
        ("-1.005", "-1.01"),
        ("10", "10.00"),
    ],
)
def test_round_money_is_half_up_to_cents(value: str, expected: str) -> None:
    assert round_money(Decimal(value)) == Decimal(expected)
    assert round_money(Decimal(value)).as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "expected"), [("0.00005", "0.0001"), ("1.23444", "1.2344"), ("3", "3.0000")]
)
def test_round_cost_keeps_four_places(value: str, expected: str) -> None:
    assert round_cost(Decimal(value)) == Decimal(expected)


def test_weighted_average_weights_by_quantity() -> None:
    pairs = [(10, Decimal("1.00")), (30, Decimal("2.00"))]
    assert weighted_average(pairs) == Decimal("1.7500")


def test_weighted_average_of_nothing_is_none() -> None:
    assert weighted_average([]) is None
    assert weighted_average([(0, Decimal("5"))]) is None


def test_weighted_average_rounds_repeating_decimals() -> None:
    assert weighted_average([(1, Decimal(1)), (2, Decimal(0))]) == Decimal("0.3333")


@pytest.mark.parametrize(
    ("price", "cost", "expected"),
    [("10", "7.5", "25.0"), ("4", "4", "0.0"), ("3", "4", "-33.3"), ("9.99", "0", "100.0")],
)
def test_margin_percent(price: str, cost: str, expected: str) -> None:
    assert margin_percent(Decimal(price), Decimal(cost)) == Decimal(expected)


def test_margin_of_a_free_item_is_undefined() -> None:
    assert margin_percent(Decimal(0), Decimal(1)) is None
