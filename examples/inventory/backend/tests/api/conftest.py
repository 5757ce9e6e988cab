"""An HTTP client on the real app, whose requests share the test's rolled-back transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inventory.db import get_session
from inventory.main import create_app
from sqlalchemy.orm import Session


@pytest.fixture
def client(db_session: Session) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_session] = lambda: db_session
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def create_product(client: TestClient) -> Any:
    def create(**fields: Any) -> dict[str, Any]:
        body = {"sku": "ITEM-1", "name": "Item", "unit_price": "1.00", **fields}
        response = client.post("/products", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    return create
