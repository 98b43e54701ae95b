"""The abandoned-cart flow through the running local stack, over real HTTP: the storefront's
cart.updated goes on the bus (POST /_local/events), the clock is advanced (never slept), and the
mail is read from SES as moto holds it.

Each test uses a store and customers of its own, and dates its events from the stack's clock.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from email import message_from_string
from email.header import decode_header, make_header
from typing import Any

import pytest
import requests

FOUR_HOURS = 4 * 3600


@pytest.fixture
def store_id() -> str:
    return f"e2e-flows-{uuid.uuid4().hex[:10]}"


class Shop:
    def __init__(self, stack: Any, store_id: str) -> None:
        self.stack, self.store_id = stack, store_id
        self.url, self.headers = stack.base_url, stack.headers(store_id)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.url}{path}", json=body, headers=self.headers, timeout=30
        )
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response.json()

    def customer(self, first: str, *, consent: str = "subscribed") -> tuple[str, str]:
        email = f"{first.lower()}-{uuid.uuid4().hex[:8]}@example.com"
        body = {
            "first_name": first,
            "email": email,
            "email_consent": {"state": consent, "opt_in_level": "single", "source": "signup"},
        }
        return str(self.ok("POST", "/customers", body)["id"]), email

    def event(
        self, source: str, event_type: str, data: dict[str, Any], at: datetime, event_id: str
    ) -> None:
        detail = {
            "metadata": {
                "event_id": event_id,
                "event_type": event_type,
                "version": 1,
                "occurred_at": at.isoformat(),
                "store_id": self.store_id,
            },
            "data": data,
        }
        entry = {
            "EventBusName": "clientela",
            "Source": source,
            "DetailType": event_type,
            "Detail": json.dumps(detail),
        }
        response = requests.post(f"{self.url}/_local/events", json={"Entries": [entry]}, timeout=30)
        assert response.status_code == 200, response.text
        assert "ErrorCode" not in response.json()[0]

    def cart(self, customer_id: str, at: datetime, event_id: str | None = None) -> None:
        data = {
            "customer_id": customer_id,
            "product_id": "P-1001",
            "sku": "TEE-BLUE-M",
            "name": "Camiseta Azul",
            "price": "79.90",
            "currency": "BRL",
            "quantity": 2,
            "at": at.isoformat(),
        }
        self.event("clientela.storefront", "cart.updated", data, at, event_id or str(uuid.uuid4()))

    def order(self, customer_id: str, email: str, at: datetime) -> None:
        data = {
            "order_id": f"O-{uuid.uuid4().hex[:8]}",
            "customer_id": customer_id,
            "email": email,
            "placed_at": at.isoformat(),
            "currency": "BRL",
            "total": "159.80",
            "items": [
                {
                    "product_id": "P-1001",
                    "sku": "TEE-BLUE-M",
                    "name": "Camiseta Azul",
                    "quantity": 2,
                    "unit_price": "79.90",
                }
            ],
        }
        self.event("clientela.storefront", "order.placed", data, at, str(uuid.uuid4()))

    def mail_to(self, email: str) -> list[Any]:
        endpoint = requests.get(f"{self.url}/_local/aws", timeout=10).json()["endpoint_url"]
        data = requests.get(f"{endpoint}/moto-api/data.json", timeout=30).json()
        found = []
        for region in data.get("ses", {}).values() if isinstance(data.get("ses"), dict) else []:
            for message in _walk(region):
                raw = message.get("raw_data") if isinstance(message, dict) else None
                if raw and email in raw:
                    found.append(message_from_string(raw))
        return found

    def flow(self) -> dict[str, Any]:
        flow = self.ok("POST", "/flows/templates/abandoned_cart")
        self.ok("PUT", "/flows/settings", {"shop_url": "https://shop.example.com"})
        return dict(flow)


def _walk(node: Any) -> list[Any]:
    """Every dict below `node` that looks like a sent message (moto's JSON dump nests them)."""
    if isinstance(node, dict):
        if "raw_data" in node:
            return [node]
        return [found for value in node.values() for found in _walk(value)]
    if isinstance(node, list):
        return [found for value in node for found in _walk(value)]
    return []


def _text(mail: Any) -> str:
    parts = mail.walk() if mail.is_multipart() else [mail]
    return "".join(
        (part.get_payload(decode=True) or b"").decode(part.get_content_charset() or "utf-8")
        for part in parts
        if part.get_content_type() in ("text/plain", "text/html")
    )


def test_abandoned_cart_sends_one_reminder_after_four_hours(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    flow = shop.flow()
    customer_id, email = shop.customer("Ana")
    stack.wait_idle()
    now = stack.clock_now()
    event_id = str(uuid.uuid4())
    for _ in range(3):  # the same event, delivered three times: one run
        shop.cart(customer_id, now, event_id)
    stack.wait_idle()
    stack.advance_clock(FOUR_HOURS - 120)
    stack.wait_idle()
    assert shop.mail_to(email) == []
    stack.advance_clock(180)
    stack.wait_idle()
    mails = shop.mail_to(email)
    assert len(mails) == 1
    mail = mails[0]
    # Decoded: the send primitive writes it as an RFC 2047 encoded word today (see the report).
    unsubscribe = str(make_header(decode_header(mail["List-Unsubscribe"])))
    assert unsubscribe.startswith("<http")
    assert "/unsubscribe/" in unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Camiseta Azul" in _text(mail)
    stats = shop.ok("GET", f"/flows/{flow['id']}/stats")
    assert stats["entered"] == 1
    assert stats["sent"] == 1


def test_an_order_before_the_wait_ends_sends_nothing(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    shop.flow()
    customer_id, email = shop.customer("Bruno")
    stack.wait_idle()
    now = stack.clock_now()
    shop.cart(customer_id, now)
    stack.wait_idle()
    shop.order(customer_id, email, now + timedelta(hours=1))
    stack.wait_idle()
    stack.advance_clock(FOUR_HOURS + 60)
    stack.wait_idle()
    stack.advance_clock(24 * 3600 + 60)
    stack.wait_idle()
    assert shop.mail_to(email) == []


def test_an_unsubscribed_customer_is_skipped_with_the_reason(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    flow = shop.flow()
    customer_id, email = shop.customer("Carla", consent="unsubscribed")
    stack.wait_idle()
    shop.cart(customer_id, stack.clock_now())
    stack.wait_idle()
    stack.advance_clock(FOUR_HOURS + 60)
    stack.wait_idle()
    assert shop.mail_to(email) == []
    stats = shop.ok("GET", f"/flows/{flow['id']}/stats")
    reminder = next(step for step in stats["steps"] if step["step_id"] == "reminder")
    assert reminder["skipped"] == {"not_subscribed": 1}


def test_quiet_hours_defer_the_reminder_to_the_next_allowed_time(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    shop.flow()
    customer_id, email = shop.customer("Davi")  # no country: the store's zone (UTC)
    stack.wait_idle()
    now = stack.clock_now()
    due = now + timedelta(seconds=FOUR_HOURS)
    quiet_start, quiet_end = due - timedelta(hours=1), due + timedelta(hours=2)
    shop.ok(
        "PUT",
        "/flows/settings",
        {
            "shop_url": "https://shop.example.com",
            "time_zone": "UTC",
            "quiet_start": quiet_start.strftime("%H:%M"),
            "quiet_end": quiet_end.strftime("%H:%M"),
        },
    )
    shop.cart(customer_id, now)
    stack.wait_idle()
    stack.advance_clock(FOUR_HOURS + 60)
    stack.wait_idle()
    assert shop.mail_to(email) == []  # deferred, not dropped
    stack.advance_clock(2 * 3600 + 60)
    stack.wait_idle()
    assert len(shop.mail_to(email)) == 1


def test_a_tag_step_ends_on_the_customer_in_the_customers_api(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [{"id": "tag", "type": "add_tag", "tags": ["Cart-Abandoner"]}],
    }
    flow = shop.ok("POST", "/flows", {"name": "Tag", "definition": definition, "state": "live"})
    assert flow["state"] == "live"
    customer_id, _ = shop.customer("Caio")
    stack.wait_idle()
    shop.cart(customer_id, stack.clock_now())
    stack.wait_idle()  # the step's flow.tags_requested, through the bus, the customers inbox
    assert shop.ok("GET", f"/customers/{customer_id}")["tags"] == ["cart-abandoner"]


def test_a_birthday_mail_goes_out_at_the_next_hourly_tick(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    shop.ok("POST", "/flows/templates/birthday")
    now = stack.clock_now()
    if (now + timedelta(hours=2)).date() != now.date():  # the tick must fall on the same day
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
        stack.advance_clock(int((midnight - now).total_seconds()) + 60)
        now = stack.clock_now()
    email = f"bia-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "first_name": "Bia",
        "email": email,
        "birthday": f"1990-{now:%m-%d}" if f"{now:%m-%d}" != "02-29" else "1992-02-29",
        "email_consent": {"state": "subscribed", "opt_in_level": "single", "source": "signup"},
    }
    shop.ok("POST", "/customers", body)
    stack.wait_idle()  # customer.created filed in the flows' date index
    assert shop.mail_to(email) == []
    stack.advance_clock(3600 + 60)
    stack.wait_idle()
    assert len(shop.mail_to(email)) == 1  # later ticks of the day: tests/service/test_flow_dates.py
