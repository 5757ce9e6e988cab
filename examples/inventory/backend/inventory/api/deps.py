"""Dependencies shared by the routers; tests override ``get_session`` only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from inventory.config import Settings, get_settings
from inventory.db import get_session
from inventory.services import ProductService, StockService

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def product_service(session: SessionDep) -> ProductService:
    return ProductService(session)


def stock_service(session: SessionDep) -> StockService:
    return StockService(session)


ProductServiceDep = Annotated[ProductService, Depends(product_service)]
StockServiceDep = Annotated[StockService, Depends(stock_service)]
