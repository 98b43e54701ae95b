"""The customers service's privacy area against moto: tombstones, erasure, access contribution."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.privacy_support import answers, read_part, request, requested, sqs_record

__all__ = ["answers"]  # the fixture


@pytest.fixture
def privacy(apps: dict[str, Any]) -> Any:
    from chalicelib.customers.privacy import usecases

    return usecases


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_is_erased_after_tombstones_and_only_for_the_erased_details(
    privacy: Any, store_id: str
) -> None:
    assert not privacy.is_erased(store_id, email="gone@example.com", phone="+5511987654321")
    written = privacy.write_tombstones(
        store_id, email="Gone@Example.com", phone="+55 11 98765-4321", request_id="r1", at=NOW
    )
    assert written == 2
    assert privacy.is_erased(store_id, email="GONE@example.com", phone=None)
    assert privacy.is_erased(store_id, email=None, phone="+5511987654321")
    assert privacy.is_erased(store_id, email="other@example.com", phone="+5511987654321")
    assert not privacy.is_erased(store_id, email="other@example.com", phone="+5511912345678")
    assert not privacy.is_erased(store_id, email=None, phone=None)
    # Tenancy: another store never sees this store's tombstones.
    assert not privacy.is_erased(store_id + "x", email="gone@example.com", phone=None)
    # Redelivery: writing the same tombstones again changes nothing and does not fail.
    again = privacy.write_tombstones(
        store_id, email="gone@example.com", phone=None, request_id="r2", at=NOW
    )
    assert again == 1


def test_post_customers_refuses_an_erased_email_or_phone_with_409(
    privacy: Any, api: Api, store_id: str
) -> None:
    privacy.write_tombstones(
        store_id, email="erased@example.com", phone="+5511987654321", request_id="r1", at=NOW
    )
    refused = api.call("POST", "/customers", {"email": "Erased@Example.com", "first_name": "A"})
    assert refused.status == 409
    assert refused.body["type"].endswith("erased-person")
    assert {e["field"] for e in refused.body["errors"]} == {"email", "phone"}
    # A national number read in the customer's country is the same phone.
    national = api.call("POST", "/customers", {"phone": "(11) 98765-4321", "country": "BR"})
    assert national.status == 409
    listed = api.call("GET", "/customers?q=erased")
    assert listed.body["items"] == []
    assert api.call("POST", "/customers", {"email": "kept@example.com"}).status == 201


def _deliver(apps: dict[str, Any], *bodies: dict[str, Any]) -> Any:
    records = [sqs_record(body, "clientela-customers-inbox") for body in bodies]
    context = new_context(
        "clientela-customers", "on_inbound_event", region="us-east-1", account="123456789012"
    )
    return apps["customers"].on_inbound_event({"Records": records}, context)


def _customer_with_orders(api: Api, email: str) -> str:
    created = api.call(
        "POST",
        "/customers",
        {
            "email": email,
            "first_name": "Giulia",
            "last_name": "Bianchi",
            "tags": ["vip"],
            "phone": "+393331234567",
        },
    ).body
    order = {
        "order_id": f"IT-{created['id'][-6:]}",
        "email": email,
        "customer_id": created["id"],
        "placed_at": "2026-11-20T10:00:00+00:00",
        "currency": "EUR",
        "total": "120.50",
        "items": [
            {
                "product_id": "p-1",
                "sku": "S-1",
                "name": "Borsa",
                "quantity": 1,
                "unit_price": "120.50",
            }
        ],
    }
    assert api.call("POST", "/orders", {"orders": [order]}).status == 200
    return str(created["id"])


REPORT = "/reports/purchase-frequency?from=2026-11-01&to=2026-11-30"


def test_access_writes_the_customers_part_and_answers_once_per_redelivery(
    apps: Any, api: Api, store_id: str, answers: Any
) -> None:
    customer_id = _customer_with_orders(api, "giulia@example.it")
    data = request(store_id, customer_id)
    body = requested(store_id, data)

    assert _deliver(apps, body, body) == {"batchItemFailures": []}

    events = answers()
    assert [e["detail-type"] for e in events] == ["privacy.contributed"] * 2
    # A redelivery is answered with the same event id: the job counts it once.
    assert len({e["detail"]["metadata"]["event_id"] for e in events}) == 1
    answer = events[0]["detail"]["data"]
    assert (answer["service"], answer["request_id"]) == ("customers", data.request_id)
    assert answer["part_key"] == f"privacy/{store_id}/{data.request_id}/customers.json"
    assert "giulia" not in json.dumps(events)  # no personal data on the bus
    part = read_part(answer["part_key"])
    assert part["profile"]["email"] == "giulia@example.it"
    assert part["consent"]["email"]["state"] == "never_asked"
    assert [o["order_id"] for o in part["orders"]] == [f"IT-{customer_id[-6:]}"]
    assert Decimal(part["orders"][0]["total"]) == Decimal("120.50")
    assert {e["kind"] for e in part["timeline"]} >= {"purchased"}


def test_access_for_an_unknown_customer_fails_with_a_reason(
    apps: Any, store_id: str, answers: Any
) -> None:
    data = request(store_id, "01JD3Z6Q4W0W8Y5J3K2M1N0PQR")
    assert _deliver(apps, requested(store_id, data)) == {"batchItemFailures": []}
    [event] = answers()
    assert event["detail-type"] == "privacy.failed"
    assert event["detail"]["data"]["reason"] == "customer-not-found"


def test_erasure_removes_the_person_keeps_report_totals_and_refuses_them_again(
    apps: Any, api: Api, store_id: str, answers: Any, privacy: Any
) -> None:
    customer_id = _customer_with_orders(api, "erase.me@example.it")
    before = api.call("GET", REPORT).body
    assert len(before["items"]) == 1
    data = request(store_id, customer_id, "erasure")
    body = requested(store_id, data)

    assert _deliver(apps, body) == {"batchItemFailures": []}
    assert _deliver(apps, body) == {"batchItemFailures": []}  # redelivered: safe

    first, again = answers()
    assert first["detail-type"] == again["detail-type"] == "privacy.erased"
    assert first["detail"]["data"]["erased"] == {
        "profile": 1,
        "tombstones": 2,
        "orders_anonymised": 1,
        "timeline": first["detail"]["data"]["erased"]["timeline"],
    }
    assert first["detail"]["data"]["erased"]["timeline"] >= 1
    assert again["detail"]["data"]["erased"]["profile"] == 0
    assert first["detail"]["metadata"]["event_id"] == again["detail"]["metadata"]["event_id"]
    assert api.call("GET", f"/customers/{customer_id}").status == 404
    assert api.call("GET", "/customers?q=erase.me").body["items"] == []
    assert api.call("GET", "/customers?q=Bianchi").body["items"] == []
    after = api.call("GET", REPORT).body
    assert [(r["orders"], r["amount"]) for r in after["items"]] == [
        (r["orders"], r["amount"]) for r in before["items"]
    ]
    assert "erase.me" not in json.dumps(after)
    assert privacy.is_erased(store_id, email="Erase.Me@example.it", phone=None)
    assert privacy.is_erased(store_id, email=None, phone="+393331234567")
    again_created = api.call("POST", "/customers", {"email": "erase.me@example.it"})
    assert again_created.status == 409
