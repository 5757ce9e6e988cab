"""Stock: receipts, FIFO issues, adjustments, levels, valuation and reorder advice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from inventory.api.deps import StockServiceDep
from inventory.models import MovementKind
from inventory.schemas import (
    AdjustmentIn,
    BatchOut,
    IssueIn,
    MovementOut,
    ReceiptIn,
    StockLevelOut,
    ValuationOut,
)

router = APIRouter(tags=["stock"])


class ReorderOut(BaseModel):
    product_id: int
    quantity: int
    days_of_cover: float | None


@router.post("/products/{product_id}/receipts", status_code=status.HTTP_201_CREATED, response_model=BatchOut)
def receive(product_id: int, data: ReceiptIn, service: StockServiceDep) -> BatchOut:
    return BatchOut.model_validate(service.receive(product_id, data))


@router.post("/products/{product_id}/issues", status_code=status.HTTP_201_CREATED, response_model=MovementOut)
def issue(product_id: int, data: IssueIn, service: StockServiceDep) -> MovementOut:
    return MovementOut.model_validate(service.issue(product_id, data.quantity, data.note))


@router.post(
    "/products/{product_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementOut,
)
def adjust(product_id: int, data: AdjustmentIn, service: StockServiceDep) -> MovementOut:
    return MovementOut.model_validate(service.adjust(product_id, data))


@router.get("/products/{product_id}/stock", response_model=StockLevelOut)
def stock_level(product_id: int, service: StockServiceDep) -> StockLevelOut:
    return service.level(product_id)


@router.get("/products/{product_id}/batches", response_model=list[BatchOut])
def batches(product_id: int, service: StockServiceDep) -> list[BatchOut]:
    return [BatchOut.model_validate(b) for b in service.batches_of(product_id)]


@router.get("/products/{product_id}/movements", response_model=list[MovementOut])
def movements(
    product_id: int,
    service: StockServiceDep,
    kind: MovementKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MovementOut]:
    return [MovementOut.model_validate(m) for m in service.movements_of(product_id, kind=kind, limit=limit)]


@router.get("/products/{product_id}/reorder", response_model=ReorderOut)
def reorder(
    product_id: int,
    service: StockServiceDep,
    lead_time_days: Annotated[int, Query(ge=0, le=365)] = 7,
    window_days: Annotated[int, Query(ge=1, le=365)] = 30,
    pack_size: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> ReorderOut:
    suggestion = service.reorder(
        product_id, lead_time_days=lead_time_days, window_days=window_days, pack_size=pack_size
    )
    return ReorderOut(
        product_id=product_id,
        quantity=suggestion.quantity,
        days_of_cover=suggestion.days_of_cover,
    )


@router.get("/stock/valuation", response_model=ValuationOut)
def valuation(service: StockServiceDep) -> ValuationOut:
    return service.valuation()
