from __future__ import annotations

from fastapi.testclient import TestClient
from inventory import __version__


def test_health_is_ok_with_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": __version__}


def test_health_is_json(client: TestClient) -> None:
    assert client.get("/health").headers["content-type"] == "application/json"


def test_unknown_route_is_404(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
