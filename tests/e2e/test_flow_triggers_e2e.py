"""Segment-entry and scheduled flow triggers through the running local stack, over real HTTP:
a customer changed through the customers API enters a saved segment (the customers stream
publishes segment.entered, automation starts the run) and leaving it ends the run
(segment.exited); a scheduled flow fires from the stack's
clock and walks the store's contacts. The clock is advanced, never slept.

Entries are dated by the customers service's own (real) time, while the wait comes due by the
stack's clock, which earlier tests' advances may have moved days ahead. The segment flow's wait
is therefore that lead plus an hour: it comes due an hour after the entry in the stack's time,
never at the next tick (which would send the mail before the test makes the customer leave).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.test_flows_e2e import Shop


@pytest.fixture
def store_id() -> str:
    return f"e2e-triggers-{uuid.uuid4().hex[:10]}"


def vip_welcome(shop: Shop) -> dict[str, Any]:
    """A saved segment (tag `vip`) and a live flow it triggers: an hour's wait in the stack's
    time, then a mail."""
    segment = shop.ok("POST", "/segments", {"name": "VIP", "filter": {"tag": ["vip"]}})
    lead = shop.stack.clock_now() - datetime.now(UTC)
    wait = {"minutes": 60 + max(0, math.ceil(lead.total_seconds() / 60))}
    definition = {
        "trigger": {"type": "segment", "segment_id": segment["id"]},
        "steps": [
            {"id": "wait", "type": "wait", "duration": wait, "next": "hello"},
            {"id": "hello", "type": "send_email", "template_id": "builtin-welcome"},
        ],
    }
    return dict(
        shop.ok("POST", "/flows", {"name": "VIP", "definition": definition, "state": "live"})
    )


def test_entering_a_segment_starts_the_flow_and_the_mail_goes_out(
    stack: Any, store_id: str
) -> None:
    shop = Shop(stack, store_id)
    flow = vip_welcome(shop)
    customer_id, email = shop.customer("Vera")
    other_id, other_email = shop.customer("Olga")
    stack.wait_idle()

    shop.ok("PATCH", f"/customers/{customer_id}", {"tags": ["vip"]})
    shop.ok("PATCH", f"/customers/{other_id}", {"tags": ["staff"]})
    stack.wait_idle()
    stack.advance_clock(3600 + 120)
    stack.wait_idle()

    assert len(shop.mail_to(email)) == 1
    assert shop.mail_to(other_email) == []
    assert shop.ok("GET", f"/flows/{flow['id']}/stats")["entered"] == 1


def test_leaving_the_segment_ends_the_run_and_nothing_more_is_sent(
    stack: Any, store_id: str
) -> None:
    shop = Shop(stack, store_id)
    flow = vip_welcome(shop)
    customer_id, email = shop.customer("Wanda")
    stack.wait_idle()
    shop.ok("PATCH", f"/customers/{customer_id}", {"tags": ["vip"]})
    stack.wait_idle()
    assert shop.ok("GET", f"/flows/{flow['id']}/stats")["entered"] == 1

    shop.ok("PATCH", f"/customers/{customer_id}", {"tags": []})  # no longer VIP
    stack.wait_idle()
    stack.advance_clock(3600 + 120)
    stack.wait_idle()

    assert shop.mail_to(email) == []
    stats = shop.ok("GET", f"/flows/{flow['id']}/stats")
    assert stats["ended"] == {"segment_exited": 1}
    assert stats["sent"] == 0


def test_a_flow_scheduled_at_an_instant_mails_every_contact_once(stack: Any, store_id: str) -> None:
    shop = Shop(stack, store_id)
    emails = [shop.customer(name)[1] for name in ("Sara", "Tito", "Ugo")]
    _, unsubscribed = shop.customer("Vito", consent="unsubscribed")
    stack.wait_idle()
    at = (stack.clock_now() + timedelta(hours=1)).replace(microsecond=0)
    definition = {
        "trigger": {"type": "schedule", "schedule": {"at": at.isoformat()}},
        "filter": {"email_consent": ["subscribed"]},
        "steps": [{"id": "news", "type": "send_email", "template_id": "builtin-welcome"}],
    }
    flow = shop.ok("POST", "/flows", {"name": "Launch", "definition": definition, "state": "live"})
    stack.wait_idle()

    stack.advance_clock(3600 + 120)
    stack.wait_idle()
    stack.advance_clock(24 * 3600)  # later ticks fire nothing more
    stack.wait_idle()

    assert [len(shop.mail_to(email)) for email in emails] == [1, 1, 1]
    assert shop.mail_to(unsubscribed) == []
    assert shop.ok("GET", f"/flows/{flow['id']}/stats")["entered"] == 3
