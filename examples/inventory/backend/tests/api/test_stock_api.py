from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def product(create_product: Any) -> dict[str, Any]:
    result: dict[str, Any] = create_product(sku="STK-1", reorder_level=5)
    return result


@pytest.fixture
def stocked(client: TestClient, product: dict[str, Any]) -> dict[str, Any]:
    for quantity, cost, day in [(10, "1.00", 1), (10, "2.00", 2), (5, "3.00", 3)]:
        response = client.post(
            f"/products/{product['id']}/receipts",
            json={
                "quantity": quantity,
                "unit_cost": cost,
                "reference": f"PO-{day}",
                "received_at": f"2026-02-0{day}T08:00:00Z",
            },
        )
        assert response.status_code == 201
    return product


def test_receipt_returns_batch(client: TestClient, product: dict[str, Any]) -> None:
    response = client.post(
        f"/products/{product['id']}/receipts",
        json={"quantity": 8, "unit_cost": "0.1250", "reference": "PO-77"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["quantity_received"], body["quantity_remaining"]) == (8, 8)
    assert body["unit_cost"] == "0.1250"
    assert body["reference"] == "PO-77"


@pytest.mark.parametrize(
    "body",
    [{"quantity": 0, "unit_cost": "1"}, {"quantity": 1, "unit_cost": "-1"}, {"quantity": 1}],
)
def test_invalid_receipt_is_422(client: TestClient, product: dict[str, Any], body: dict[str, object]) -> None:
    assert client.post(f"/products/{product['id']}/receipts", json=body).status_code == 422


def test_receipt_for_missing_product_is_404(client: TestClient) -> None:
    response = client.post("/products/12121212/receipts", json={"quantity": 1, "unit_cost": "1"})
    assert response.status_code == 404


def test_receipt_for_inactive_product_is_409(client: TestClient, product: dict[str, Any]) -> None:
    client.delete(f"/products/{product['id']}")
    response = client.post(f"/products/{product['id']}/receipts", json={"quantity": 1, "unit_cost": "1"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("quantity", "cost", "allocations"),
    [
        (3, "3.00", [[3, "1.0000"]]),
        (12, "14.00", [[10, "1.0000"], [2, "2.0000"]]),
        (25, "45.00", [[10, "1.0000"], [10, "2.0000"], [5, "3.0000"]]),
    ],
)
def test_issue_is_costed_fifo(
    client: TestClient,
    stocked: dict[str, Any],
    quantity: int,
    cost: str,
    allocations: list[list[object]],
) -> None:
    response = client.post(f"/products/{stocked['id']}/issues", json={"quantity": quantity})
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "issue"
    assert body["quantity"] == -quantity
    assert body["total_cost"] == cost
    assert [[a["quantity"], a["unit_cost"]] for a in body["allocations"]] == allocations


def test_over_issue_is_409_with_numbers(client: TestClient, stocked: dict[str, Any]) -> None:
    response = client.post(f"/products/{stocked['id']}/issues", json={"quantity": 26})
    assert response.status_code == 409
    assert response.json()["requested"] == 26
    assert response.json()["available"] == 25
    assert client.get(f"/products/{stocked['id']}/stock").json()["on_hand"] == 25


@pytest.mark.parametrize("quantity", [0, -1])
def test_invalid_issue_is_422(client: TestClient, stocked: dict[str, Any], quantity: int) -> None:
    response = client.post(f"/products/{stocked['id']}/issues", json={"quantity": quantity})
    assert response.status_code == 422


def test_issue_for_missing_product_is_404(client: TestClient) -> None:
    assert client.post("/products/34343434/issues", json={"quantity": 1}).status_code == 404


@pytest.mark.parametrize(
    ("issued", "on_hand", "value", "status"),
    [(0, 25, "45.00", "ok"), (20, 5, "15.00", "below_reorder_level"), (25, 0, "0.00", "out_of_stock")],
)
def test_stock_level(
    client: TestClient,
    stocked: dict[str, Any],
    issued: int,
    on_hand: int,
    value: str,
    status: str,
) -> None:
    if issued:
        client.post(f"/products/{stocked['id']}/issues", json={"quantity": issued})
    body = client.get(f"/products/{stocked['id']}/stock").json()
    assert (body["on_hand"], body["value"], body["status"]) == (on_hand, value, status)
    assert body["sku"] == "STK-1"


def test_stock_of_missing_product_is_404(client: TestClient) -> None:
    assert client.get("/products/45454545/stock").status_code == 404


def test_batches_in_fifo_order(client: TestClient, stocked: dict[str, Any]) -> None:
    client.post(f"/products/{stocked['id']}/issues", json={"quantity": 11})
    batches = client.get(f"/products/{stocked['id']}/batches").json()
    assert [(b["reference"], b["quantity_remaining"]) for b in batches] == [
        ("PO-1", 0),
        ("PO-2", 9),
        ("PO-3", 5),
    ]


def test_adjustment_down(client: TestClient, stocked: dict[str, Any]) -> None:
    response = client.post(f"/products/{stocked['id']}/adjustments", json={"quantity": -2, "note": "broken"})
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["total_cost"]) == ("adjustment", "2.00")


def test_adjustment_up_at_average_cost(client: TestClient, stocked: dict[str, Any]) -> None:
    response = client.post(f"/products/{stocked['id']}/adjustments", json={"quantity": 10, "note": "found"})
    assert response.json()["total_cost"] == "18.00"
    assert client.get(f"/products/{stocked['id']}/stock").json()["on_hand"] == 35


def test_adjustment_up_without_stock_or_cost_is_422(client: TestClient, product: dict[str, Any]) -> None:
    response = client.post(f"/products/{product['id']}/adjustments", json={"quantity": 1, "note": "found"})
    assert response.status_code == 422
    assert "unit_cost" in response.json()["detail"]


@pytest.mark.parametrize("body", [{"quantity": 0, "note": "x"}, {"quantity": 1}, {"quantity": 1, "note": ""}])
def test_invalid_adjustment_is_422(
    client: TestClient, stocked: dict[str, Any], body: dict[str, object]
) -> None:
    assert client.post(f"/products/{stocked['id']}/adjustments", json=body).status_code == 422


def test_adjustment_beyond_stock_is_409(client: TestClient, stocked: dict[str, Any]) -> None:
    response = client.post(f"/products/{stocked['id']}/adjustments", json={"quantity": -100, "note": "count"})
    assert response.status_code == 409


@pytest.mark.parametrize(("kind", "count"), [(None, 5), ("receipt", 3), ("issue", 1), ("adjustment", 1)])
def test_movements_filter_by_kind(
    client: TestClient, stocked: dict[str, Any], kind: str | None, count: int
) -> None:
    client.post(f"/products/{stocked['id']}/issues", json={"quantity": 1})
    client.post(f"/products/{stocked['id']}/adjustments", json={"quantity": -1, "note": "x"})
    params = {"kind": kind} if kind else {}
    movements = client.get(f"/products/{stocked['id']}/movements", params=params).json()
    assert len(movements) == count
    if kind:
        assert {m["kind"] for m in movements} == {kind}


def test_movements_unknown_kind_is_422(client: TestClient, stocked: dict[str, Any]) -> None:
    response = client.get(f"/products/{stocked['id']}/movements", params={"kind": "theft"})
    assert response.status_code == 422


def test_valuation_includes_stocked_product(client: TestClient, stocked: dict[str, Any]) -> None:
    body = client.get("/stock/valuation").json()
    mine = next(p for p in body["products"] if p["product_id"] == stocked["id"])
    assert mine["value"] == "45.00"
    assert mine["average_unit_cost"] == "1.8000"


@pytest.mark.parametrize(
    ("params", "quantity"),
    [({}, 0), ({"lead_time_days": 0}, 0)],
)
def test_reorder_when_stock_is_ample(
    client: TestClient, stocked: dict[str, Any], params: dict[str, int], quantity: int
) -> None:
    body = client.get(f"/products/{stocked['id']}/reorder", params=params).json()
    assert body == {"product_id": stocked["id"], "quantity": quantity, "days_of_cover": None}


def test_reorder_after_heavy_use(client: TestClient, stocked: dict[str, Any]) -> None:
    client.post(f"/products/{stocked['id']}/issues", json={"quantity": 21})  # 0.7/day over 30 days
    body = client.get(
        f"/products/{stocked['id']}/reorder", params={"lead_time_days": 10, "pack_size": 6}
    ).json()
    # on hand 4 <= 5; target ceil(7) + 10 = 17; need 13 -> three packs of 6
    assert body["quantity"] == 18
    assert body["days_of_cover"] == 5.7


@pytest.mark.parametrize("params", [{"lead_time_days": -1}, {"pack_size": 0}, {"window_days": 0}])
def test_reorder_validation(client: TestClient, stocked: dict[str, Any], params: dict[str, int]) -> None:
    assert client.get(f"/products/{stocked['id']}/reorder", params=params).status_code == 422
