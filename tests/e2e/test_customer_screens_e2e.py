"""The seeds' stories through the running local stack, over real HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests


@pytest.fixture
def store_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def _order(order_id: str, email: str, total: str, days_ago: int, **line: Any) -> dict[str, Any]:
    placed = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "order_id": order_id,
        "email": email,
        "placed_at": placed.isoformat(),
        "currency": "EUR",
        "total": total,
        "items": [
            {
                "product_id": line.get("product_id", "p-1"),
                "sku": "SKU-1",
                "name": "Cafetera italiana",
                "brand": line.get("brand", "Bialetti"),
                "category": "Cocina",
                "quantity": 1,
                "unit_price": total,
            }
        ],
    }


def test_winback_customers_are_found_tagged_in_bulk_and_see_it_in_their_timeline(
    stack: Any, store_id: str
) -> None:
    url, headers = stack.base_url, stack.headers(store_id)

    def call(
        method: str, path: str, extra: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        sent = {**headers, **(extra or {})}
        return requests.request(method, f"{url}{path}", headers=sent, timeout=30, **kwargs)

    lapsed = call("POST", "/customers", json={"email": "lapsed@example.es", "first_name": "Lucía"})
    recent = call("POST", "/customers", json={"email": "recent@example.es"})
    assert lapsed.status_code == recent.status_code == 201
    orders = [
        _order("ES-1", "lapsed@example.es", "400.00", 120),
        _order("ES-2", "lapsed@example.es", "250.00", 90),
        _order("ES-3", "recent@example.es", "900.00", 5),
        _order("ES-4", "guest@example.es", "800.00", 100),  # a guest: a profile is made
        _order("ES-5", "small@example.es", "50.00", 100),
    ]
    recorded = call("POST", "/orders", json={"orders": orders})
    assert recorded.status_code == 200, recorded.text
    assert call("POST", "/orders", json={"orders": orders}).status_code == 200  # replayed: no-op

    since = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
    winback = {"spent_min": "500", "last_order_before": since}
    found = call("GET", "/customers", params=winback).json()
    emails = sorted(c["email"] for c in found["items"])
    assert emails == ["guest@example.es", "lapsed@example.es"]
    lapsed_profile = next(c for c in found["items"] if c["email"] == "lapsed@example.es")
    assert lapsed_profile["orders_count"] == 2
    assert Decimal(lapsed_profile["total_spent"]) == Decimal("650.00")

    bulk = call(
        "POST",
        "/customers/bulk",
        json={"action": "add_tags", "tags": ["winback"], "target": {"filter": winback}},
        extra={"Idempotency-Key": f"winback-{store_id}"},
    )
    assert bulk.status_code in (200, 202), bulk.text
    stack.wait_idle()
    if bulk.status_code == 202:
        job = call("GET", bulk.headers["Location"]).json()
        assert job["status"] == "succeeded", job

    for customer in found["items"]:
        profile = call("GET", f"/customers/{customer['id']}").json()
        assert "winback" in profile["tags"]
        timeline = call(
            "GET", f"/customers/{customer['id']}/timeline", params={"kind": "tags_changed"}
        ).json()
        assert any("winback" in entry["data"].get("added", []) for entry in timeline["items"])
        purchases = call(
            "GET", f"/customers/{customer['id']}/timeline", params={"kind": "purchased"}
        ).json()
        assert purchases["items"]
    recent_profile = call("GET", f"/customers/{recent.json()['id']}").json()
    assert "winback" not in recent_profile["tags"]
    assert call("GET", "/tags").json()["items"] == [{"tag": "winback", "customers": 2}]


def test_reports_group_orders_by_email_over_a_period(stack: Any, store_id: str) -> None:
    url, headers = stack.base_url, stack.headers(store_id)
    orders = [
        _order("R-1", "ana@example.es", "100.00", 10, brand="Bialetti"),
        _order("R-2", "ana@example.es", "60.00", 5, brand="Lékué"),
        _order("R-3", "guest@example.es", "30.00", 3, brand="Bialetti"),
    ]
    assert (
        requests.post(f"{url}/orders", json={"orders": orders}, headers=headers, timeout=30)
    ).status_code == 200
    period = {
        "from": (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
        "to": datetime.now(UTC).date().isoformat(),
    }

    sales = requests.get(
        f"{url}/reports/sales-by-customer",
        params={**period, "brand": "Bialetti", "sort": "-amount"},
        headers=headers,
        timeout=30,
    )
    missing = requests.get(
        f"{url}/reports/purchase-frequency", params={"orders_min": 1}, headers=headers, timeout=30
    )

    assert sales.status_code == 200, sales.text
    rows = sales.json()["items"]
    assert [(r["email"], r["orders"], Decimal(r["amount"])) for r in rows] == [
        ("ana@example.es", 1, Decimal("100.00")),
        ("guest@example.es", 1, Decimal("30.00")),
    ]
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} >= {"from"}


def test_duplicates_merge_and_other_services_follow(stack: Any, store_id: str) -> None:
    url, headers = stack.base_url, stack.headers(store_id)
    kept = requests.post(
        f"{url}/customers", json={"email": "a@example.pt"}, headers=headers, timeout=30
    ).json()
    duplicate = requests.post(
        f"{url}/customers",
        json={"email": "a.lima@example.pt", "tags": ["vip"]},
        headers=headers,
        timeout=30,
    ).json()

    merged = requests.post(
        f"{url}/customers/merge",
        json={"keep_id": kept["id"], "merge_ids": [duplicate["id"]]},
        headers=headers,
        timeout=30,
    )

    assert merged.status_code == 200, merged.text
    stack.wait_idle()
    profile = requests.get(f"{url}/customers/{kept['id']}", headers=headers, timeout=30).json()
    assert profile["tags"] == ["vip"]
    gone = requests.get(f"{url}/customers/{duplicate['id']}", headers=headers, timeout=30)
    assert gone.status_code == 404
