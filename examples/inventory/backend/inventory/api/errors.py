"""One place that turns domain errors into HTTP answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from inventory.domain.errors import (
    ConflictError,
    InsufficientStockError,
    InvalidQuantityError,
    NotFoundError,
)
from inventory.domain.pagination import InvalidCursorError


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(InsufficientStockError)
    async def insufficient(_: Request, exc: InsufficientStockError) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={
                "detail": str(exc),
                "requested": exc.requested,
                "available": exc.available,
            },
        )

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(InvalidQuantityError)
    async def invalid_quantity(_: Request, exc: InvalidQuantityError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(InvalidCursorError)
    async def invalid_cursor(_: Request, exc: InvalidCursorError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})
