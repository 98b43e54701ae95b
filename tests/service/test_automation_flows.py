"""Flows against moto with Step Functions executing: the API (definitions, versions, states,
built-in flows, validation) and runs (one per trigger, superseding, exits checked at send time,
smart sending across flows, quiet hours, waits for events, editing a live flow, stats).

Time never passes by itself: waits end when a test fires the timers with a chosen time, as the
every-minute rule does with the clock's.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_string
from typing import Any

import pytest

from bench.flowsdriver import FlowsDriver, sent_mail_to
from clientela_events.automation import EmailClickedV1
from clientela_events.customers import ConsentV1, CustomerV1
from clientela_events.storefront import CartUpdatedV1, LineItemV1, OrderPlacedV1
from tests.service.conftest import Api

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, 09:00 in São Paulo


def contact(
    store_id: str, *, consent: str = "subscribed", country: str | None = "BR", name: str = "Ana"
) -> tuple[str, str]:
    from chalicelib.automation.contacts import usecases as contacts

    customer_id = uuid.uuid4().hex
    email = f"{name.lower()}-{customer_id[:8]}@example.com"
    contacts.keep_profile(
        store_id,
        CustomerV1(
            id=customer_id,
            email=email,
            first_name=name,
            country=country,
            email_consent=ConsentV1(state=consent, updated_at=T0),
            created_at=T0,
            updated_at=T0,
            version=1,
        ),
    )
    return customer_id, email


def cart(
    driver: FlowsDriver, customer_id: str, at: datetime, *, name: str = "Camiseta Azul", **kw: Any
) -> uuid.UUID:
    data = CartUpdatedV1(
        customer_id=customer_id,
        product_id=kw.get("product_id", "P-1"),
        sku="SKU-1",
        name=name,
        quantity=kw.get("quantity", 1),
        price=Decimal("79.90"),
        currency="BRL",
        at=at,
    )
    return driver.publish("cart.updated", data, at, kw.get("event_id"))


def order(driver: FlowsDriver, customer_id: str, at: datetime, total: str = "100.00") -> str:
    order_id = f"O-{uuid.uuid4().hex[:8]}"
    data = OrderPlacedV1(
        order_id=order_id,
        customer_id=customer_id,
        email="x@example.com",
        placed_at=at,
        currency="BRL",
        total=Decimal(total),
        items=[
            LineItemV1(
                product_id="P-1",
                sku="SKU-1",
                name="Camiseta",
                quantity=1,
                unit_price=Decimal(total),
            )
        ],
    )
    driver.publish("order.placed", data, at)
    return order_id


def mails(email: str) -> list[Any]:
    return [message_from_string(m["raw"]) for m in sent_mail_to(email)]


def text(mail: Any) -> str:
    parts = mail.walk() if mail.is_multipart() else [mail]
    return "".join(
        (part.get_payload(decode=True) or b"").decode(part.get_content_charset() or "utf-8")
        for part in parts
        if part.get_content_type() in ("text/plain", "text/html")
    )


def abandoned_cart(api: Api) -> dict[str, Any]:
    answer = api.call("POST", "/flows/templates/abandoned_cart")
    assert answer.status == 201, answer.body
    assert answer.body["state"] == "live"
    return dict(answer.body)


# The API ----------------------------------------------------------------------------------


WAIT_THEN_SEND = {
    "trigger": {"type": "event", "event": "cart.updated"},
    "steps": [
        {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "send"},
        {"id": "send", "type": "send_email", "template_id": "builtin-abandoned-cart"},
    ],
}


def test_a_flow_is_a_versioned_draft_until_it_goes_live(flows_api: Api) -> None:
    created = flows_api.call("POST", "/flows", {"name": "Cart", "definition": WAIT_THEN_SEND})
    assert created.status == 201
    assert created.body["state"] == "draft"
    assert created.headers["etag"] == '"1"'
    flow_id = created.body["id"]
    edited = {**WAIT_THEN_SEND, "smart_sending": False}
    stale = flows_api.call(
        "PUT",
        f"/flows/{flow_id}",
        {"name": "Cart", "definition": edited},
        headers={"if-match": '"7"'},
    )
    assert stale.status == 412
    without = flows_api.call("PUT", f"/flows/{flow_id}", {"name": "Cart", "definition": edited})
    assert without.status == 422
    assert without.body["errors"][0]["field"] == "If-Match"
    changed = flows_api.call(
        "PUT",
        f"/flows/{flow_id}",
        {"name": "Cart", "definition": edited},
        headers={"if-match": '"1"'},
    )
    assert changed.status == 200
    assert changed.body["version"] == 2
    live = flows_api.call("PUT", f"/flows/{flow_id}/state", {"state": "live"})
    assert live.body["state"] == "live"
    listed = flows_api.call("GET", "/flows").body["items"]
    assert [f["id"] for f in listed] == [flow_id]
    assert flows_api.call("GET", "/flows/nope").status == 404


def test_going_live_names_each_faulty_step(flows_api: Api) -> None:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [
            {"id": "first", "type": "wait", "next": "mail"},
            {"id": "mail", "type": "send_email", "template_id": "no-such-template"},
            {"id": "lost", "type": "teleport"},
        ],
    }
    created = flows_api.call("POST", "/flows", {"name": "Bad", "definition": definition})
    assert created.status == 201  # a draft may be unfinished
    refused = flows_api.call("PUT", f"/flows/{created.body['id']}/state", {"state": "live"})
    assert refused.status == 422
    fields = {e["field"]: e["reason"] for e in refused.body["errors"]}
    assert fields["definition.steps.0.duration"].startswith("Step first:")
    assert "Step mail: no template" in fields["definition.steps.1.template_id"]
    assert "Step lost: unknown step type" in fields["definition.steps.2.type"]
    assert "Step lost: unreachable" in fields["definition.steps.2"]
    again = flows_api.call("GET", f"/flows/{created.body['id']}")
    assert again.body["state"] == "draft"


def test_built_in_flows_go_live_in_one_call(flows_api: Api) -> None:
    for name in (
        "abandoned_cart",
        "welcome",
        "win_back",
        "post_purchase_review",
        "credit_expiring",
        "birthday",
    ):
        answer = flows_api.call("POST", f"/flows/templates/{name}")
        assert answer.status == 201, (name, answer.body)
        assert answer.body["state"] == "live"
    assert flows_api.call("POST", "/flows/templates/nope").status == 404


def test_a_built_in_flow_can_start_as_a_draft_to_review_first(flows_api: Api) -> None:
    answer = flows_api.call("POST", "/flows/templates/abandoned_cart?state=draft")
    assert answer.status == 201, answer.body
    assert answer.body["state"] == "draft"
    assert answer.body["definition"]["steps"][0]["duration"] == {
        "days": 0,
        "hours": 4,
        "minutes": 0,
    }
    stored = flows_api.call("GET", f"/flows/{answer.body['id']}")
    assert stored.body["state"] == "draft"
    refused = flows_api.call("POST", "/flows/templates/abandoned_cart?state=paused")
    assert refused.status == 422
    assert refused.body["errors"][0]["field"] == "state"


# Runs -------------------------------------------------------------------------------------


def test_cart_then_four_hours_then_one_reminder_with_the_items(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow = abandoned_cart(flows_api)
    customer_id, email = contact(store_id)
    event_id = uuid.uuid4()
    for _ in range(3):  # one event delivered three times: one run
        cart(driver, customer_id, T0, event_id=event_id)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=3, minutes=59))
    assert mails(email) == []
    # Read fresh after the wait: a line added meanwhile is in the mail.
    cart(driver, customer_id, T0 + timedelta(hours=1), name="Boné", product_id="P-2")
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=5, minutes=1))
    sent = mails(email)
    assert len(sent) == 1
    assert "Camiseta Azul" in text(sent[0])
    assert "Boné" in text(sent[0])
    stats = flows_api.call("GET", f"/flows/{flow['id']}/stats").body
    assert stats["entered"] == 2  # the later cart superseded the first run
    assert stats["sent"] == 1


def test_an_order_after_entering_ends_the_run_before_its_send(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    abandoned_cart(flows_api)
    customer_id, email = contact(store_id)
    cart(driver, customer_id, T0)
    driver.settle()
    order(driver, customer_id, T0 + timedelta(hours=1))
    driver.settle()
    driver.fire_timers(T0 + timedelta(days=3))
    driver.fire_timers(T0 + timedelta(days=3))
    assert mails(email) == []


def test_an_unsubscribed_customer_is_skipped_with_the_reason(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow = abandoned_cart(flows_api)
    customer_id, email = contact(store_id, consent="unsubscribed")
    cart(driver, customer_id, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=4))
    driver.fire_timers(T0 + timedelta(days=2))
    assert mails(email) == []
    stats = flows_api.call("GET", f"/flows/{flow['id']}/stats").body
    steps = {step["step_id"]: step for step in stats["steps"]}
    assert steps["reminder"]["skipped"] == {"not_subscribed": 1}
    assert steps["second"]["skipped"] == {"not_subscribed": 1}
    assert stats["skipped"] == {"not_subscribed": 2}


def test_quiet_hours_defer_the_send_to_their_end(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    abandoned_cart(flows_api)
    # 16:00 UTC is 13:00 in São Paulo: quiet from 12:00 to 15:00 there.
    settings = {"quiet_start": "12:00", "quiet_end": "15:00", "time_zone": "Europe/Rome"}
    assert flows_api.call("PUT", "/flows/settings", settings).status == 200
    customer_id, email = contact(store_id, country="BR")
    cart(driver, customer_id, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=4))
    assert mails(email) == []
    driver.fire_timers(T0 + timedelta(hours=5, minutes=59))
    assert mails(email) == []
    driver.fire_timers(T0 + timedelta(hours=6))  # 15:00 in São Paulo
    assert len(mails(email)) == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus", "\U0001f600" * 200, "../etc/passwd"])
def test_a_time_zone_no_zone_database_has_is_refused_naming_it(flows_api: Api, zone: str) -> None:
    # A name too long for any file made the zone database raise OSError: it was a 500.
    answer = flows_api.call("PUT", "/flows/settings", {"time_zone": zone})
    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["time_zone"]
    assert flows_api.call("GET", "/flows/settings").body.get("time_zone") != zone


def test_smart_sending_allows_one_marketing_mail_per_window_across_flows(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    for name in ("A", "B", "C"):
        definition = {
            "trigger": {"type": "event", "event": "cart.updated"},
            "steps": [
                {"id": "send", "type": "send_email", "template_id": "builtin-abandoned-cart"}
            ],
        }
        answer = flows_api.call(
            "POST", "/flows", {"name": name, "definition": definition, "state": "live"}
        )
        assert answer.status == 201, answer.body
    customer_id, email = contact(store_id)
    cart(driver, customer_id, T0)
    driver.settle()
    assert len(mails(email)) == 1
    skipped = []
    for flow in flows_api.call("GET", "/flows").body["items"]:
        stats = flows_api.call("GET", f"/flows/{flow['id']}/stats").body
        skipped.append(stats["skipped"].get("smart_sending", 0))
    assert sorted(skipped) == [0, 1, 1]


def test_smart_sending_is_exact_under_concurrency(store_id: str, apps: dict[str, Any]) -> None:
    from chalicelib.automation.runs.usecases import store

    customer_id = uuid.uuid4().hex
    winners = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        barrier.wait()
        if store().reserve_marketing(
            store_id, customer_id, now=T0, since=T0 - timedelta(hours=16), owner=f"run-{n}#1"
        ):
            winners.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_wait_for_an_event_resumes_on_the_event_or_the_timeout(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [
            {
                "id": "ordered",
                "type": "wait_for_event",
                "event": "order.placed",
                "timeout": {"days": 2},
                "on_event": "thanks",
                "on_timeout": "nudge",
            },
            {
                "id": "thanks",
                "type": "send_email",
                "template_id": "builtin-abandoned-cart",
                "marketing": False,
            },
            {"id": "nudge", "type": "send_email", "template_id": "builtin-abandoned-cart"},
        ],
    }
    created = flows_api.call(
        "POST", "/flows", {"name": "W", "definition": definition, "state": "live"}
    )
    flow_id = created.body["id"]
    buyer, buyer_email = contact(store_id)
    idle, idle_email = contact(store_id)
    cart(driver, buyer, T0)
    cart(driver, idle, T0)
    driver.settle()
    order(driver, buyer, T0 + timedelta(hours=5))
    driver.settle()
    assert len(mails(buyer_email)) == 1
    driver.fire_timers(T0 + timedelta(days=2, minutes=1))
    assert len(mails(idle_email)) == 1
    assert len(mails(buyer_email)) == 1  # its timer was claimed by the event
    steps = {
        s["step_id"]: s["sent"]
        for s in flows_api.call("GET", f"/flows/{flow_id}/stats").body["steps"]
    }
    assert steps == {"ordered": 0, "thanks": 1, "nudge": 1}


def test_editing_a_live_flow_leaves_runs_in_progress_on_their_version(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow = flows_api.call(
        "POST", "/flows", {"name": "V", "definition": WAIT_THEN_SEND, "state": "live"}
    ).body
    first, first_email = contact(store_id)
    cart(driver, first, T0)
    driver.settle()
    # Version 2 waits a day instead of an hour: the run in progress keeps its hour.
    longer = {
        **WAIT_THEN_SEND,
        "steps": [
            {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "send"},
            {"id": "send", "type": "send_email", "template_id": "builtin-abandoned-cart"},
        ],
    }
    edited = flows_api.call(
        "PUT",
        f"/flows/{flow['id']}",
        {"name": "V", "definition": longer},
        headers={"if-match": '"1"'},
    )
    assert edited.status == 200
    second, second_email = contact(store_id)
    cart(driver, second, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))
    assert len(mails(first_email)) == 1
    assert mails(second_email) == []
    driver.fire_timers(T0 + timedelta(days=1, minutes=1))
    assert len(mails(second_email)) == 1


def test_a_click_then_an_order_within_five_days_is_attributed(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow = flows_api.call(
        "POST", "/flows", {"name": "V", "definition": WAIT_THEN_SEND, "state": "live"}
    ).body
    customer_id, _ = contact(store_id)
    cart(driver, customer_id, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=1))
    from chalicelib.automation.stats.usecases import store as stats_store

    message_id = _message_of(stats_store(), store_id)
    clicked = EmailClickedV1(
        customer_id=customer_id,
        message_id=message_id,
        url="https://shop.example.com/cart",
        flow_id=flow["id"],
    )
    driver.publish("email.clicked", clicked, T0 + timedelta(hours=2))
    order(driver, customer_id, T0 + timedelta(days=3), total="250.00")
    order(driver, customer_id, T0 + timedelta(days=9), total="10.00")  # too late
    driver.settle()
    stats = flows_api.call("GET", f"/flows/{flow['id']}/stats").body
    assert stats["clicked"] == 1
    assert stats["converted"] == 1
    assert stats["revenue"] == {"BRL": "250.00"}
    send = next(step for step in stats["steps"] if step["step_id"] == "send")
    assert send["converted"] == 1


def _message_of(stats_store: Any, store_id: str) -> str:
    """The one message a flow of this store sent (its MSG item)."""
    db = stats_store._db
    items = db.scan(
        TableName="clientela-automation-flows",
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"MSG#{store_id}#"}},
    )["Items"]
    assert len(items) == 1
    return str(items[0]["pk"]["S"]).rsplit("#", 1)[-1]
