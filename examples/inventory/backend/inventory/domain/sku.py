"""Stock keeping units: one canonical spelling so lookups and uniqueness agree."""

from __future__ import annotations

import re

SKU_PATTERN = re.compile(r"^[A-Z0-9]{2,10}(?:-[A-Z0-9]{1,10}){0,4}$")
MAX_SKU_LENGTH = 40


def normalize_sku(raw: str) -> str:
    """Upper-case, trim, and turn spaces and underscores into dashes.

    Warehouses type SKUs by hand; ``" ab_12 x "`` and ``"AB-12-X"`` are the same item.
    """
    collapsed = re.sub(r"[\s_]+", "-", raw.strip().upper())
    collapsed = re.sub(r"-{2,}", "-", collapsed).strip("-")
    if not collapsed:
        raise ValueError("SKU is empty")
    if len(collapsed) > MAX_SKU_LENGTH:
        raise ValueError(f"SKU longer than {MAX_SKU_LENGTH} characters")
    if not SKU_PATTERN.match(collapsed):
        raise ValueError(
            f"SKU {collapsed!r} must be 2-10 letters or digits, then up to four dash-separated parts of 1-10"
        )
    return collapsed


def sku_prefix(sku: str) -> str:
    """The product family: the part before the first dash."""
    return normalize_sku(sku).split("-", 1)[0]
