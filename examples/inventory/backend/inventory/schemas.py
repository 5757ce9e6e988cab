"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inventory.domain.reorder import StockStatus
from inventory.domain.sku import normalize_sku
from inventory.models import MovementKind

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
UnitCost = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductCreate(_Strict):
    sku: str
    name: Name
    description: str = Field(default="", max_length=5000)
    unit_price: Money
    reorder_level: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("sku")
    @classmethod
    def _canonical_sku(cls, value: str) -> str:
        return normalize_sku(value)


class ProductUpdate(_Strict):
    """Partial update: only fields sent are changed. The SKU is immutable."""

    name: Name | None = None
    description: str | None = Field(default=None, max_length=5000)
    unit_price: Money | None = None
    reorder_level: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str
    unit_price: Decimal
    reorder_level: int
    active: bool
    created_at: datetime


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class ReceiptIn(_Strict):
    quantity: int = Field(gt=0, le=1_000_000)
    unit_cost: UnitCost
    reference: str = Field(default="", max_length=80)
    received_at: datetime | None = None


class IssueIn(_Strict):
    quantity: int = Field(gt=0, le=1_000_000)
    note: str = Field(default="", max_length=2000)


class AdjustmentIn(_Strict):
    """A stock count correction; positive finds stock, negative writes it off."""

    quantity: int = Field(ge=-1_000_000, le=1_000_000)
    note: str = Field(min_length=1, max_length=2000)
    unit_cost: UnitCost | None = None

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of zero changes nothing")
        return value


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    reference: str
    quantity_received: int
    quantity_remaining: int
    unit_cost: Decimal
    received_at: datetime


class AllocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    batch_id: int
    quantity: int
    unit_cost: Decimal


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    kind: MovementKind
    quantity: int
    total_cost: Decimal
    note: str
    occurred_at: datetime
    allocations: list[AllocationOut]


class StockLevelOut(BaseModel):
    product_id: int
    sku: str
    on_hand: int
    value: Decimal
    average_unit_cost: Decimal | None
    status: StockStatus


class ValuationOut(BaseModel):
    total_value: Decimal
    products: list[StockLevelOut]


class SearchHit(BaseModel):
    product: ProductOut
    rank: float
    snippet: str


class SearchResults(BaseModel):
    query: str
    tsquery: str
    hits: list[SearchHit]


class Health(BaseModel):
    status: str
    database: str
    version: str
