"""The HTTP layer's own behaviour, with the database seam faked out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from inventory import __version__
from inventory.db import get_session
from inventory.main import create_app
from sqlalchemy.exc import OperationalError


class _DeadSession:
    """Stands in for a session whose database went away."""

    def execute(self, *_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def close(self) -> None:
        pass


@pytest.fixture
def dead_db_client() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_session] = _DeadSession
    with TestClient(app) as client:
        yield client


def test_health_reports_503_when_database_is_unreachable(dead_db_client: TestClient) -> None:
    response = dead_db_client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "unreachable",
        "version": __version__,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/health"),
        ("post", "/products"),
        ("get", "/products"),
        ("get", "/products/search"),
        ("get", "/products/by-sku/{sku}"),
        ("get", "/products/{product_id}"),
        ("patch", "/products/{product_id}"),
        ("delete", "/products/{product_id}"),
        ("post", "/products/{product_id}/receipts"),
        ("post", "/products/{product_id}/issues"),
        ("post", "/products/{product_id}/adjustments"),
        ("get", "/products/{product_id}/stock"),
        ("get", "/products/{product_id}/batches"),
        ("get", "/products/{product_id}/movements"),
        ("get", "/products/{product_id}/reorder"),
        ("get", "/stock/valuation"),
    ],
)
def test_openapi_documents_every_route(method: str, path: str) -> None:
    schema = create_app().openapi()
    assert method in schema["paths"][path]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/products", {"sku": "x", "name": "n", "unit_price": "1"}),
        ("post", "/products", {"name": "n", "unit_price": "1"}),
        ("post", "/products/1/receipts", {"quantity": 0, "unit_cost": "1"}),
        ("post", "/products/1/issues", {"quantity": -1}),
        ("post", "/products/1/adjustments", {"quantity": 0, "note": "x"}),
        ("get", "/products/not-a-number", None),
    ],
)
def test_invalid_requests_fail_validation_before_touching_the_database(
    dead_db_client: TestClient, method: str, path: str, body: object
) -> None:
    response = dead_db_client.request(method.upper(), path, json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
