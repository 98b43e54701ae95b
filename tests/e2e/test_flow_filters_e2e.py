"""A condition split on the customers API's filters, end to end: an order recorded through the
customers API moves the customer's aggregates, the customers service publishes them, automation's
read model keeps them, and the split sends only to the customer who spent enough."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.test_flows_e2e import Shop


@pytest.fixture
def store_id() -> str:
    return f"e2e-filters-{uuid.uuid4().hex[:10]}"


def test_a_split_on_spend_mails_only_the_customer_who_spent_enough(
    stack: Any, store_id: str
) -> None:
    shop = Shop(stack, store_id)
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [
            {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "big"},
            {
                "id": "big",
                "type": "condition",
                "condition": {"filter": {"spent_min": "150", "orders_min": 1}},
                "then": "vip",
            },
            {"id": "vip", "type": "send_email", "template_id": "builtin-abandoned-cart"},
        ],
    }
    flow = shop.ok("POST", "/flows", {"name": "VIP", "definition": definition, "state": "live"})
    buyer, buyer_email = shop.customer("Vera")
    browser, browser_email = shop.customer("Beto")
    now = stack.clock_now()
    order = {
        "order_id": f"O-{uuid.uuid4().hex[:8]}",
        "customer_id": buyer,
        "email": buyer_email,
        "placed_at": (now - timedelta(days=3)).isoformat(),
        "currency": "BRL",
        "total": "159.80",
        "items": [
            {
                "product_id": "P-1",
                "sku": "S-1",
                "name": "Tênis",
                "quantity": 1,
                "unit_price": "159.80",
            }
        ],
    }
    assert shop.ok("POST", "/orders", {"orders": [order]})["results"][0]["result"] == "created"
    stack.wait_idle()
    shop.cart(buyer, now)
    shop.cart(browser, now)
    stack.wait_idle()

    stack.advance_clock(3600 + 60)
    stack.wait_idle()

    assert len(shop.mail_to(buyer_email)) == 1
    assert shop.mail_to(browser_email) == []
    stats = shop.ok("GET", f"/flows/{flow['id']}/stats")
    assert (stats["entered"], stats["sent"]) == (2, 1)
