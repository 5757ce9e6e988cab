"""/products: catalogue CRUD, keyset pages and full-text search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from inventory.api.deps import ProductServiceDep, SettingsDep
from inventory.domain.pagination import clamp_limit, next_cursor, page_from
from inventory.domain.sku import normalize_sku
from inventory.schemas import ProductCreate, ProductOut, ProductPage, ProductUpdate, SearchResults

router = APIRouter(prefix="/products", tags=["products"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create_product(data: ProductCreate, service: ProductServiceDep) -> ProductOut:
    return ProductOut.model_validate(service.create(data))


@router.get("", response_model=ProductPage)
def list_products(
    service: ProductServiceDep,
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: str | None = None,
    active: bool = False,
    sku_prefix: str | None = None,
) -> ProductPage:
    size = clamp_limit(limit, default=settings.default_page_size, maximum=settings.max_page_size)
    prefix = None
    if sku_prefix:
        try:
            prefix = normalize_sku(sku_prefix) if len(sku_prefix.strip()) > 1 else sku_prefix.upper()
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    rows = service.list_page(page_from(cursor, size), active_only=active, sku_prefix=prefix)
    return ProductPage(
        items=[ProductOut.model_validate(p) for p in rows[:size]],
        next_cursor=next_cursor([p.id for p in rows], size),
    )


@router.get("/search", response_model=SearchResults)
def search_products(
    service: ProductServiceDep,
    q: Annotated[str, Query(max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    return service.search(q, limit=limit)


@router.get("/by-sku/{sku}", response_model=ProductOut)
def get_by_sku(sku: str, service: ProductServiceDep) -> ProductOut:
    try:
        canonical = normalize_sku(sku)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return ProductOut.model_validate(service.get_by_sku(canonical))


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: int, service: ProductServiceDep) -> ProductOut:
    return ProductOut.model_validate(service.get(product_id))


@router.patch("/{product_id}", response_model=ProductOut)
def update_product(product_id: int, data: ProductUpdate, service: ProductServiceDep) -> ProductOut:
    return ProductOut.model_validate(service.update(product_id, data))


@router.delete("/{product_id}", response_model=ProductOut)
def deactivate_product(product_id: int, service: ProductServiceDep) -> ProductOut:
    # Products with history are never deleted; they stop being sold.
    return ProductOut.model_validate(service.deactivate(product_id))
