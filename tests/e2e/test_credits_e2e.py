"""Credits through the running local stack, over real HTTP: refer-a-friend, expiry, refusals.

Time is the stack's: `advance_clock` moves it and fires the hourly jobs (rewards, expiry) with
the advanced time, so nothing here sleeps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

CURRENCY = "BRL"


@pytest.fixture
def store_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


class Api:
    def __init__(self, stack: Any, store_id: str) -> None:
        self.stack, self.url, self.headers = stack, stack.base_url, stack.headers(store_id)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.request(
            method, f"{self.url}{path}", json=body, params=params, headers=headers, timeout=30
        )

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response.json()

    def customer(self, first: str, email: str) -> str:
        body = {"first_name": first, "last_name": "Teste", "email": email, "country": "BR"}
        created = self.ok("POST", "/customers", body)
        return str(created["id"])

    def wallet(self, customer_id: str) -> dict[str, Any]:
        return dict(self.ok("GET", f"/wallets/{customer_id}"))

    def timeline(self, customer_id: str, kind: str) -> list[dict[str, Any]]:
        page = self.ok("GET", f"/customers/{customer_id}/timeline", params={"kind": kind})
        return list(page["items"])


def _in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


def test_a_referral_from_sign_up_to_both_rewards(stack, store_id) -> None:
    api = Api(stack, store_id)
    programme = {
        "referrer_reward": "20.00",
        "friend_reward": "10.00",
        "currency": CURRENCY,
        "expiry_days": 90,
        "hold_window_days": 14,
        "share_base_url": "https://loja.example.com.br/indique",
    }
    api.ok("PUT", "/referrals/programme", programme)
    maria = api.customer("Maria", "maria.souza@example.com")
    stack.wait_idle()  # her wallet opens on customer.created
    code = api.ok("POST", "/referrers", {"customer_id": maria})["code"]
    # The storefront creates the friend, then signs her up with the share link's code.
    ana = api.customer("Ana", "ana.pereira@example.org")
    stack.wait_idle()
    referral = api.ok("POST", "/referrals", {"code": code.lower(), "customer_id": ana})
    assert referral["status"] == "pending"

    order = {
        "order_id": f"R-{uuid.uuid4().hex[:8]}",
        "customer_id": ana,
        "email": "ana.pereira@example.org",
        "placed_at": _in(timedelta(minutes=-1)),
        "currency": CURRENCY,
        "total": "120.00",
        "items": [
            {"product_id": "P1", "sku": "P1", "name": "Tee", "quantity": 1, "unit_price": "120.00"}
        ],
    }
    results = api.ok("POST", "/orders", {"orders": [order]})["results"]
    assert results[0]["result"] == "created"
    stack.wait_idle()
    qualified = api.ok("GET", f"/referrals/{referral['id']}")
    assert qualified["status"] == "qualified", qualified
    assert qualified["order_id"] == order["order_id"]

    fired = stack.advance_clock(15 * 86400)  # past the 14-day hold window
    assert any("reward_due_referrals" in rule for rule in fired), fired
    stack.wait_idle()
    assert api.ok("GET", f"/referrals/{referral['id']}")["status"] == "rewarded"
    for customer, amount in ((maria, "20.00"), (ana, "10.00")):
        wallet = api.wallet(customer)
        assert wallet["balance"] == amount
        assert [lot["kind"] for lot in wallet["lots"]] == ["referral"]
        granted = api.timeline(customer, "credit_granted")
        assert [(e["data"]["amount"], e["data"]["credit_kind"]) for e in granted] == [
            (amount, "referral")
        ]


def test_a_self_referral_is_refused(stack, store_id) -> None:
    api = Api(stack, store_id)
    programme = {
        "referrer_reward": "20.00",
        "friend_reward": "10.00",
        "currency": CURRENCY,
        "share_base_url": "https://loja.example.com.br/indique",
    }
    api.ok("PUT", "/referrals/programme", programme)
    joao = api.customer("João", "joao.lima@gmail.com")
    stack.wait_idle()
    code = api.ok("POST", "/referrers", {"customer_id": joao})["code"]
    # The same person again, under a Gmail alias (dots and +tags reach the same mailbox).
    again = api.customer("Joao", "j.o.a.o.lima+promo@gmail.com")
    stack.wait_idle()

    refused = api.call("POST", "/referrals", {"code": code, "customer_id": again})
    assert refused.status_code == 409, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["reason"] == "self-referral"
    own = api.call("POST", "/referrals", {"code": code, "customer_id": joao})
    assert own.status_code == 409, own.text
    assert own.json()["reason"] == "self-referral"
    listed = api.ok("GET", "/referrals", params={"referrer_id": joao})
    assert listed["items"] == []
    assert api.wallet(joao)["balance"] == api.wallet(again)["balance"] == "0.00"


def test_lots_expire_when_the_clock_passes_their_date(stack, store_id) -> None:
    api = Api(stack, store_id)
    rita = api.customer("Rita", "rita.alves@example.com")
    stack.wait_idle()
    # Dated from the stack's clock: other tests of the session may have moved it days ahead.
    soon = {
        "kind": "bonus",
        "amount": "15.00",
        "currency": CURRENCY,
        "expires_at": (stack.clock_now() + timedelta(days=2)).replace(microsecond=0).isoformat(),
    }
    kept = {"kind": "refund", "amount": "7.50", "currency": CURRENCY}
    api.ok("POST", f"/wallets/{rita}/credits", soon, key="bonus-1")
    api.ok("POST", f"/wallets/{rita}/credits", kept, key="refund-1")
    assert api.wallet(rita)["balance"] == "22.50"

    # The first hourly run sees the bonus within the warning lead time (7 days), not due: it
    # publishes credit.expiring, which nothing over HTTP shows yet (no consumer, no timeline
    # kind, the lot's `warned` mark is not in the wallet's answer); the service tests check it.
    fired = stack.advance_clock(3600)
    assert any("expire_credits" in rule for rule in fired), fired
    stack.wait_idle()
    assert api.wallet(rita)["balance"] == "22.50"

    fired = stack.advance_clock(3 * 86400)  # past the bonus's date
    assert any("expire_credits" in rule for rule in fired), fired
    stack.wait_idle()
    wallet = api.wallet(rita)
    assert wallet["balance"] == "7.50"
    expirations = [e for e in wallet["entries"] if e["type"] == "expiration"]
    assert [e["amount"] for e in expirations] == ["-15.00"]
    expired = api.timeline(rita, "credit_expired")
    assert [e["data"]["amount"] for e in expired] == ["15.00"]  # the timeline says how much

    # Again: nothing expires twice.
    stack.advance_clock(3600)
    stack.wait_idle()
    assert [e["type"] for e in api.wallet(rita)["entries"]].count("expiration") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bonus", "amount": "-5.00", "currency": CURRENCY}, "amount"),
        ({"kind": "bonus", "amount": "5.001", "currency": CURRENCY}, "amount"),
        ({"kind": "bonus", "amount": "5.5", "currency": "JPY"}, "amount"),
        (
            {
                "kind": "bonus",
                "amount": "5.00",
                "currency": CURRENCY,
                "expires_at": "2020-01-01T00:00:00Z",
            },
            "expires_at",
        ),
        ({"kind": "gift", "amount": "5.00", "currency": CURRENCY}, "kind"),
    ],
    ids=["negative", "too-many-decimals", "decimals-in-yen", "expiry-in-the-past", "unknown-kind"],
)
def test_a_bad_credit_is_refused_naming_the_field_and_changes_nothing(
    stack, store_id, body, field
) -> None:
    api = Api(stack, store_id)
    bia = api.customer("Bia", "bia.costa@example.com")
    stack.wait_idle()
    api.ok(
        "POST",
        f"/wallets/{bia}/credits",
        {"kind": "manual", "amount": "3.00", "currency": CURRENCY},
        key="k0",
    )
    before = api.wallet(bia)

    refused = api.call("POST", f"/wallets/{bia}/credits", body, key="bad-1")
    assert refused.status_code == 422, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in refused.json()["errors"]}
    assert api.wallet(bia) == before


def test_credits_for_unknown_or_other_stores_customers_are_refused(stack, store_id) -> None:
    api = Api(stack, store_id)
    other = Api(stack, f"{store_id}-other")
    theirs = other.customer("Carla", "carla.nunes@example.com")
    mine = api.customer("Davi", "davi.rocha@example.com")
    stack.wait_idle()
    grant = {"kind": "bonus", "amount": "5.00", "currency": CURRENCY}

    for customer in ("01J0000000000000000000NONE", theirs):
        refused = api.call("POST", f"/wallets/{customer}/credits", grant, key="g-1")
        assert refused.status_code == 404, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
    coupon = api.call("POST", "/coupons", {"customer_id": theirs, "percentage": 10})
    assert coupon.status_code == 422, coupon.text
    assert "customer_id" in {error["field"] for error in coupon.json()["errors"]}
    assert other.wallet(theirs)["balance"] == "0.00"
    assert other.wallet(theirs)["entries"] == []
    assert api.wallet(mine)["entries"] == []
    assert api.ok("GET", "/credits/summary")["outstanding"] == "0.00"


def test_cashback_from_a_paid_order_to_the_timeline(stack, store_id) -> None:
    """Order paid -> cashback pending -> the local clock past the hold window -> granted by
    the hourly job -> credit.granted from the table's stream -> the customer's timeline."""
    api = Api(stack, store_id)
    settings = {
        "default_currency": CURRENCY,
        "cashback": {"enabled": True, "percent": "5", "hold_window_days": 14, "expiry_days": 90},
    }
    api.ok("PUT", "/credits/settings", settings)
    bia = api.customer("Bia", "bia.cashback@example.org")
    stack.wait_idle()  # her wallet opens on customer.created
    placed = stack.clock_now() - timedelta(minutes=1)
    order = {
        "order_id": f"C-{uuid.uuid4().hex[:8]}",
        "customer_id": bia,
        "email": "bia.cashback@example.org",
        "placed_at": placed.replace(microsecond=0).isoformat(),
        "currency": CURRENCY,
        "total": "200.00",
        "items": [
            {"product_id": "P2", "sku": "P2", "name": "Bag", "quantity": 1, "unit_price": "200.00"}
        ],
    }
    assert api.ok("POST", "/orders", {"orders": [order]})["results"][0]["result"] == "created"
    stack.wait_idle()
    pending = api.ok("GET", f"/wallets/{bia}/cashback")
    assert pending["pending"] == "10.00"
    assert pending["items"][0]["status"] == "pending"
    assert api.wallet(bia)["balance"] == "0.00"

    fired = stack.advance_clock(15 * 86400)  # past the 14-day hold window
    assert any("grant_due_cashback" in rule for rule in fired), fired
    stack.wait_idle()
    [item] = api.ok("GET", f"/wallets/{bia}/cashback")["items"]
    assert item["status"] == "granted"
    wallet = api.wallet(bia)
    assert wallet["balance"] == "10.00"
    assert [lot["kind"] for lot in wallet["lots"]] == ["cashback"]
    granted = api.timeline(bia, "credit_granted")
    assert [(e["data"]["amount"], e["data"]["credit_kind"]) for e in granted] == [
        ("10.00", "cashback")
    ]
