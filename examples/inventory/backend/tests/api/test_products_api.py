from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def test_create_returns_canonical_product(client: TestClient) -> None:
    response = client.post(
        "/products",
        json={"sku": " bolt m8 ", "name": "Hex bolt", "unit_price": "0.35", "reorder_level": 50},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["sku"] == "BOLT-M8"
    assert body["unit_price"] == "0.35"
    assert body["reorder_level"] == 50
    assert body["active"] is True
    assert isinstance(body["id"], int)


def test_create_then_get(client: TestClient, create_product: Any) -> None:
    created = create_product(sku="NUT-M6", name="Nut")
    response = client.get(f"/products/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_duplicate_sku_is_409(client: TestClient, create_product: Any) -> None:
    create_product(sku="DUP-1")
    response = client.post("/products", json={"sku": "dup_1", "name": "x", "unit_price": "1"})
    assert response.status_code == 409
    assert "DUP-1" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "A", "name": "n", "unit_price": "1"},
        {"sku": "AB-1", "name": "", "unit_price": "1"},
        {"sku": "AB-1", "name": "n", "unit_price": "-1"},
        {"sku": "AB-1", "name": "n", "unit_price": "1.001"},
        {"sku": "AB-1", "name": "n", "unit_price": "1", "reorder_level": -2},
        {"sku": "AB-1", "name": "n", "unit_price": "1", "unknown": True},
        {"sku": "AB-1", "name": "n"},
        {},
    ],
)
def test_invalid_product_is_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/products", json=body)
    assert response.status_code == 422
    assert client.get("/products/by-sku/AB-1").status_code == 404


def test_get_missing_is_404(client: TestClient) -> None:
    response = client.get("/products/99999999")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


@pytest.mark.parametrize("spelling", ["CLIP-9", "clip-9", "clip_9"])
def test_get_by_sku_in_any_spelling(client: TestClient, create_product: Any, spelling: str) -> None:
    created = create_product(sku="CLIP-9")
    response = client.get(f"/products/by-sku/{spelling}")
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


def test_get_by_malformed_sku_is_422(client: TestClient) -> None:
    assert client.get("/products/by-sku/x").status_code == 422


@pytest.mark.parametrize(
    ("patch", "field", "value"),
    [
        ({"name": "Renamed"}, "name", "Renamed"),
        ({"unit_price": "2.50"}, "unit_price", "2.50"),
        ({"reorder_level": 9}, "reorder_level", 9),
        ({"description": "new"}, "description", "new"),
        ({"active": False}, "active", False),
    ],
)
def test_patch_updates_one_field(
    client: TestClient, create_product: Any, patch: dict[str, object], field: str, value: object
) -> None:
    created = create_product()
    response = client.patch(f"/products/{created['id']}", json=patch)
    assert response.status_code == 200
    assert response.json()[field] == value
    assert client.get(f"/products/{created['id']}").json()[field] == value
    untouched = {k: v for k, v in created.items() if k != field}
    assert {k: response.json()[k] for k in untouched} == untouched


@pytest.mark.parametrize("patch", [{"sku": "NEW-1"}, {"unit_price": "-5"}, {"name": ""}])
def test_patch_rejects(client: TestClient, create_product: Any, patch: dict[str, object]) -> None:
    created = create_product()
    assert client.patch(f"/products/{created['id']}", json=patch).status_code == 422


def test_patch_missing_is_404(client: TestClient) -> None:
    assert client.patch("/products/77777777", json={"name": "x"}).status_code == 404


def test_delete_deactivates(client: TestClient, create_product: Any) -> None:
    created = create_product()
    response = client.delete(f"/products/{created['id']}")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert client.get(f"/products/{created['id']}").json()["active"] is False


def test_delete_missing_is_404(client: TestClient) -> None:
    assert client.delete("/products/66666666").status_code == 404


def _page_through(client: TestClient, **params: object) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/products", params=query).json()
        pages.append([p["sku"] for p in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    ("count", "limit", "page_sizes"),
    [(5, 2, [2, 2, 1]), (4, 2, [2, 2]), (3, 10, [3]), (1, 1, [1])],
)
def test_pagination_visits_every_product_once(
    client: TestClient, create_product: Any, count: int, limit: int, page_sizes: list[int]
) -> None:
    for i in range(count):
        create_product(sku=f"PAGE-{i}")
    pages = _page_through(client, limit=limit, sku_prefix="PAGE")
    assert [len(p) for p in pages] == page_sizes
    assert sorted(s for page in pages for s in page) == [f"PAGE-{i}" for i in range(count)]


def test_limit_is_capped_at_maximum(client: TestClient) -> None:
    assert client.get("/products", params={"limit": 100000}).status_code == 200


def test_zero_limit_is_422(client: TestClient) -> None:
    assert client.get("/products", params={"limit": 0}).status_code == 422


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ"])
def test_foreign_cursor_is_400(client: TestClient, cursor: str) -> None:
    response = client.get("/products", params={"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_active_filter(client: TestClient, create_product: Any) -> None:
    keep = create_product(sku="ACT-1")
    gone = create_product(sku="ACT-2")
    client.delete(f"/products/{gone['id']}")
    skus = [
        p["sku"]
        for p in client.get("/products", params={"active": True, "sku_prefix": "ACT"}).json()["items"]
    ]
    assert skus == [keep["sku"]]


def test_sku_prefix_is_normalized(client: TestClient, create_product: Any) -> None:
    create_product(sku="PFX-1")
    items = client.get("/products", params={"sku_prefix": "pfx"}).json()["items"]
    assert [p["sku"] for p in items] == ["PFX-1"]


def test_invalid_sku_prefix_is_422(client: TestClient) -> None:
    assert client.get("/products", params={"sku_prefix": "a/b"}).status_code == 422


@pytest.mark.parametrize(
    ("query", "expected"),
    [("valve", ["VALVE-1"]), ("brass valve ", ["VALVE-1"]), ("pipe", ["PIPE-1"]), ("gold", [])],
)
def test_search_endpoint(client: TestClient, create_product: Any, query: str, expected: list[str]) -> None:
    create_product(sku="VALVE-1", name="Ball valve", description="Brass, 15 mm")
    create_product(sku="PIPE-1", name="Copper pipe", description="15 mm, 3 m")
    response = client.get("/products/search", params={"q": query})
    assert response.status_code == 200
    found = [h["product"]["sku"] for h in response.json()["hits"]]
    assert [sku for sku in found if sku in {"VALVE-1", "PIPE-1"}] == expected


def test_search_reports_tsquery_and_snippet(client: TestClient, create_product: Any) -> None:
    create_product(sku="VALVE-2", name="Gate valve")
    body = client.get("/products/search", params={"q": "gate val"}).json()
    assert body["tsquery"] == "gate & val:*"
    assert body["hits"][0]["snippet"] == "**Gate** **valve**"


@pytest.mark.parametrize("params", [{}, {"q": "x" * 201}, {"q": "x", "limit": 0}])
def test_search_validation(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/products/search", params=params).status_code == 422
