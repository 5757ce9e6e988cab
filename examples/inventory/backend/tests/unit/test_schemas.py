from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from inventory.schemas import AdjustmentIn, IssueIn, ProductCreate, ProductUpdate, ReceiptIn
from pydantic import ValidationError

VALID_PRODUCT: dict[str, Any] = {"sku": "bolt-m8", "name": "Hex bolt M8", "unit_price": "0.35"}


def test_product_create_normalizes_sku_and_defaults() -> None:
    product = ProductCreate.model_validate(VALID_PRODUCT)
    assert product.sku == "BOLT-M8"
    assert product.unit_price == Decimal("0.35")
    assert (product.description, product.reorder_level) == ("", 0)


def test_product_create_strips_whitespace() -> None:
    product = ProductCreate.model_validate({**VALID_PRODUCT, "name": "  Hex bolt  "})
    assert product.name == "Hex bolt"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", "x"),
        ("sku", "AB/12"),
        ("name", ""),
        ("name", "   "),
        ("name", "n" * 201),
        ("unit_price", "-0.01"),
        ("unit_price", "1.001"),
        ("unit_price", "12345678901.00"),
        ("unit_price", "free"),
        ("reorder_level", -1),
        ("reorder_level", 1_000_001),
        ("description", "d" * 5001),
        ("color", "red"),
    ],
)
def test_product_create_rejects(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        ProductCreate.model_validate({**VALID_PRODUCT, field: value})
    assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("missing", ["sku", "name", "unit_price"])
def test_product_create_requires(missing: str) -> None:
    data = {k: v for k, v in VALID_PRODUCT.items() if k != missing}
    with pytest.raises(ValidationError) as info:
        ProductCreate.model_validate(data)
    assert info.value.errors()[0]["type"] == "missing"


def test_product_update_tracks_only_sent_fields() -> None:
    update = ProductUpdate.model_validate({"name": "New"})
    assert update.model_dump(exclude_unset=True) == {"name": "New"}


def test_product_update_cannot_change_sku() -> None:
    with pytest.raises(ValidationError):
        ProductUpdate.model_validate({"sku": "OTHER-1"})


@pytest.mark.parametrize(
    "data",
    [
        {"quantity": 0, "unit_cost": "1"},
        {"quantity": -3, "unit_cost": "1"},
        {"quantity": 1, "unit_cost": "-1"},
        {"quantity": 1, "unit_cost": "0.00001"},
        {"quantity": 1},
        {"quantity": 1, "unit_cost": "1", "reference": "r" * 81},
    ],
)
def test_receipt_rejects(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReceiptIn.model_validate(data)


def test_receipt_accepts_four_decimal_unit_cost() -> None:
    receipt = ReceiptIn.model_validate({"quantity": 3, "unit_cost": "0.1234"})
    assert receipt.unit_cost == Decimal("0.1234")
    assert receipt.received_at is None


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001])
def test_issue_rejects_quantity(quantity: int) -> None:
    with pytest.raises(ValidationError):
        IssueIn.model_validate({"quantity": quantity})


def test_adjustment_of_zero_is_refused() -> None:
    with pytest.raises(ValidationError, match="changes nothing"):
        AdjustmentIn.model_validate({"quantity": 0, "note": "count"})


def test_adjustment_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        AdjustmentIn.model_validate({"quantity": -2, "note": ""})


@pytest.mark.parametrize("quantity", [-5, 5])
def test_adjustment_accepts_both_directions(quantity: int) -> None:
    assert AdjustmentIn.model_validate({"quantity": quantity, "note": "count"}).quantity == quantity
