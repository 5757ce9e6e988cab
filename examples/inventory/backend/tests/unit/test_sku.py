from __future__ import annotations

import pytest
from inventory.domain.sku import MAX_SKU_LENGTH, normalize_sku, sku_prefix


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab-12", "AB-12"),
        (" ab_12 x ", "AB-12-X"),
        ("BOLT-M8-40", "BOLT-M8-40"),
        ("bolt  m8   40", "BOLT-M8-40"),
        ("bolt--m8", "BOLT-M8"),
        ("-scr-4-", "SCR-4"),
        ("a1", "A1"),
        ("PIPE_CU_15MM", "PIPE-CU-15MM"),
        ("x1-a-b-c-d", "X1-A-B-C-D"),
        ("1234567890", "1234567890"),
        ("\tnut-m6\n", "NUT-M6"),
    ],
)
def test_normalize_sku_gives_one_canonical_spelling(raw: str, expected: str) -> None:
    assert normalize_sku(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "---", "__"])
def test_empty_sku_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_sku(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "A",  # first part too short
        "ABCDEFGHIJK",  # first part too long
        "AB-C-D-E-F-G",  # too many parts
        "AB-CDEFGHIJKLM",  # later part too long
        "AB.12",
        "ÄB-12",
        "AB/12",
        "AB#1",
    ],
)
def test_malformed_sku_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="SKU"):
        normalize_sku(raw)


def test_overlong_sku_is_refused_before_pattern_check() -> None:
    with pytest.raises(ValueError, match=str(MAX_SKU_LENGTH)):
        normalize_sku("-".join(["ABCDEFGHIJ"] * 5))


def test_normalize_is_idempotent() -> None:
    once = normalize_sku(" bolt m8 ")
    assert normalize_sku(once) == once


@pytest.mark.parametrize(("sku", "prefix"), [("bolt-m8-40", "BOLT"), ("NUT", "NUT"), ("pipe cu", "PIPE")])
def test_sku_prefix_is_product_family(sku: str, prefix: str) -> None:
    assert sku_prefix(sku) == prefix
