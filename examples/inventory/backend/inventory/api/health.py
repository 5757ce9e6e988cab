"""/health: what load balancers and the image HEALTHCHECK ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from inventory import __version__
from inventory.api.deps import SessionDep
from inventory.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> JSONResponse:
    # 503 when the database is down, so a deploy's health gate rolls back.
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        body = Health(status="degraded", database="unreachable", version=__version__)
        return JSONResponse(status_code=503, content=body.model_dump())
    body = Health(status="ok", database="ok", version=__version__)
    return JSONResponse(status_code=200, content=body.model_dump())
