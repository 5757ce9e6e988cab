"""The ASGI app: ``uvicorn inventory.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from inventory import __version__
from inventory.api import errors, health, products, stock


def create_app() -> FastAPI:
    app = FastAPI(title="Inventory", version=__version__)
    app.include_router(health.router)
    app.include_router(products.router)
    app.include_router(stock.router)
    errors.install(app)
    return app


app = create_app()
