"""Privacy requests through the running local stack, over real HTTP: the right of access in
JSON, XML and HTML with every service's data, and the right to erasure across the services.

Nothing here sleeps: `wait_idle` returns once every queue (the services' answers included) is
drained.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from chalicelib.exports.privacy.files.rules import schema

REPORT = "/reports/purchase-frequency"


@pytest.fixture
def store_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


class Api:
    def __init__(self, stack: Any, store_id: str) -> None:
        self.stack, self.url, self.headers = stack, stack.base_url, stack.headers(store_id)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.url}{path}", json=body, headers=headers, timeout=30, **kwargs
        )

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code in (200, 201, 202), f"{method} {path}: {response.text}"
        return response.json()


def _person(api: Api, stack: Any, email: str) -> tuple[str, str]:
    """A customer with an order, a credit with a note, a coupon; their day for the report."""
    created = api.ok(
        "POST",
        "/customers",
        {"first_name": "Lúcia", "last_name": "Prado", "email": email, "phone": "+5511987650000"},
    )
    customer_id = str(created["id"])
    day = stack.clock_now().date().isoformat()
    order = {
        "order_id": f"BR-{uuid.uuid4().hex[:8]}",
        "email": email,
        "customer_id": customer_id,
        "placed_at": stack.clock_now().isoformat(),
        "currency": "BRL",
        "total": "89.90",
        "items": [
            {
                "product_id": "p-1",
                "sku": "S-1",
                "name": "Caneca",
                "quantity": 1,
                "unit_price": "89.90",
            }
        ],
    }
    api.ok("POST", "/orders", {"orders": [order]})
    stack.wait_idle()  # customer.created opened the wallet, the contact exists
    api.ok(
        "POST",
        f"/wallets/{customer_id}/credits",
        {"kind": "bonus", "amount": "15.00", "currency": "BRL", "note": "Pedido por telefone"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    api.ok("POST", "/coupons", {"customer_id": customer_id, "percentage": 10})
    stack.wait_idle()
    return customer_id, day


def _completed(api: Api, stack: Any, location: str) -> dict[str, Any]:
    stack.wait_idle()
    shown = dict(api.ok("GET", location))
    assert shown["status"] == "completed", shown
    return shown


def test_access_gives_json_xml_and_html_with_every_service_s_data(
    stack: Any, store_id: str
) -> None:
    api = Api(stack, store_id)
    email = f"lucia.{uuid.uuid4().hex[:6]}@example.com.br"
    customer_id, _ = _person(api, stack, email)

    by_route = api.call("POST", f"/customers/{customer_id}/data-export", {"format": "json"})
    assert by_route.status_code == 202, by_route.text
    xml = api.ok(
        "POST", "/privacy/requests", {"kind": "access", "customer_id": customer_id, "format": "xml"}
    )
    page = api.ok(
        "POST",
        "/privacy/requests",
        {"kind": "access", "customer_id": customer_id, "format": "html"},
    )

    done = _completed(api, stack, by_route.headers["Location"])
    assert {s["service"]: s["state"] for s in done["services"]} == {
        "customers": "contributed",
        "credits": "contributed",
        "automation": "contributed",
        "exports": "contributed",
    }
    document = requests.get(done["file"]["url"], timeout=30).json()
    data = document["data"]
    assert data["customers"]["profile"]["email"] == email
    assert [o["total"] for o in data["customers"]["orders"]] == ["89.9"]
    assert [lot["note"] for lot in data["credits"]["lots"]] == ["Pedido por telefone"]
    assert [c["percentage"] for c in data["credits"]["coupons"]] == [10]
    assert data["automation"]["contact"]["email"] == email
    assert done["id"] in [r["request_id"] for r in data["exports"]["privacy_requests"]]
    assert set(document["article_15"]) == {
        "purposes",
        "categories",
        "recipients",
        "retention",
        "source",
    }

    xml_done = _completed(api, stack, f"/privacy/requests/{xml['id']}")
    body = requests.get(xml_done["file"]["url"], timeout=30).content
    assert schema().validate(body) == []
    assert email.encode() in body

    html_done = _completed(api, stack, f"/privacy/requests/{page['id']}")
    shown = requests.get(html_done["file"]["url"], timeout=30)
    assert shown.headers["Content-Type"].startswith("text/html")
    assert "Lúcia" in shown.text and "Pedido por telefone" in shown.text
    listed = api.ok("GET", "/privacy/requests")["items"]
    assert {done["id"], xml["id"], page["id"]} <= {r["id"] for r in listed}


def test_erasure_removes_the_person_everywhere_but_keeps_the_report_totals(
    stack: Any, store_id: str
) -> None:
    api = Api(stack, store_id)
    email = f"apagar.{uuid.uuid4().hex[:6]}@example.com.br"
    customer_id, day = _person(api, stack, email)
    params = {"from": day, "to": day}
    before = api.ok("GET", REPORT, params=params)["items"]
    wallet_before = api.ok("GET", f"/wallets/{customer_id}")

    erasure = api.ok("POST", "/privacy/requests", {"kind": "erasure", "customer_id": customer_id})
    done = _completed(api, stack, f"/privacy/requests/{erasure['id']}")

    assert done["customer_id"] is None and done["file"] is None
    assert {s["service"] for s in done["services"] if s["state"] == "erased"} == {
        "customers",
        "credits",
        "automation",
        "exports",
    }
    assert api.call("GET", f"/customers/{customer_id}").status_code == 404
    assert api.call("GET", f"/customers/{customer_id}/timeline").status_code == 404
    assert api.ok("GET", "/customers", params={"q": email})["items"] == []
    assert api.ok("GET", "/customers", params={"q": "Prado"})["items"] == []
    after = api.ok("GET", REPORT, params=params)["items"]
    assert [(r["orders"], r["amount"]) for r in after] == [
        (r["orders"], r["amount"]) for r in before
    ]
    assert email not in str(after)
    # The wallet stays for the accounts (closed with the customer): the same sums, no note.
    wallet_after = api.call("GET", f"/wallets/{customer_id}")
    assert wallet_after.status_code == 200, wallet_after.text
    assert wallet_after.json()["balance"] == wallet_before["balance"]
    assert "Pedido por telefone" not in wallet_after.text
    refused = api.call("POST", "/customers", {"email": email.upper()})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("erased-person")
    # The record stays for compliance, without the person.
    [kept] = [r for r in api.ok("GET", "/privacy/requests")["items"] if r["id"] == erasure["id"]]
    assert customer_id not in str(kept) and email not in str(kept)
