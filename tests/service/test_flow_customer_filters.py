"""Flow filters on any filter of GET /customers, against moto: the contacts read model keeps the
aggregates the customer events carry (orders, spend, reviews), in order, and a condition split
reads them when the run gets there; a filter the flows do not know cannot go live."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_string
from typing import Any

from bench.flowsdriver import FlowsDriver, sent_mail_to
from clientela.events import OutgoingEvent
from clientela_events.customers import ConsentV1, CustomerUpdatedV1, CustomerV1
from clientela_events.storefront import CartUpdatedV1
from tests.service.automation_mail import created, invoke, sqs_record
from tests.service.conftest import Api

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _profile(customer_id: str, **fields: Any) -> CustomerV1:
    values: dict[str, Any] = {
        "id": customer_id,
        "email": f"c-{customer_id[:10]}@example.com",
        "first_name": "Ana",
        "country": "BR",
        "email_consent": ConsentV1(state="subscribed", updated_at=T0),
        "created_at": T0,
        "updated_at": T0,
        "version": 1,
        "orders_count": 0,
        "total_spent": Decimal(0),
        **fields,
    }
    return CustomerV1(**values)


def _totals(store_id: str, old: CustomerV1, new: CustomerV1, at: datetime) -> OutgoingEvent:
    """customer.updated as an order publishes it: the aggregates, the same version."""
    data = CustomerUpdatedV1(old=old, new=new, changed=["orders_count", "total_spent"])
    return OutgoingEvent("customer.updated", 1, uuid.uuid4(), store_id, at, data)


def _contact(apps: dict[str, Any], *events: OutgoingEvent) -> None:
    result = invoke(apps["automation"], "on_contact_event", *(sqs_record(e) for e in events))
    assert result == {"batchItemFailures": []}


def test_the_read_model_keeps_the_latest_aggregates_whatever_the_order(
    apps: dict[str, Any], store_id: str
) -> None:
    from chalicelib.automation.contacts.usecases import get_contact

    customer_id = uuid.uuid4().hex
    start = _profile(customer_id)
    one = _profile(customer_id, orders_count=1, total_spent=Decimal("100"), currency="BRL")
    two = _profile(customer_id, orders_count=2, total_spent=Decimal("250.50"), currency="BRL")
    first = _totals(store_id, start, one, T0 + timedelta(minutes=1))
    second = _totals(store_id, one, two, T0 + timedelta(minutes=2))

    _contact(apps, created(store_id, start), second)
    _contact(apps, first)  # late, or redelivered: older than what the contact holds

    contact = get_contact(store_id, customer_id)
    assert contact is not None
    assert (contact.orders_count, contact.total_spent) == (2, Decimal("250.50"))

    # A newer profile version carries the aggregates as of its own write.
    renamed = _profile(
        customer_id,
        version=2,
        first_name="Bia",
        orders_count=2,
        total_spent=Decimal("250.50"),
        currency="BRL",
    )
    updated = OutgoingEvent(
        "customer.updated",
        1,
        uuid.uuid4(),
        store_id,
        T0 + timedelta(minutes=3),
        CustomerUpdatedV1(old=two, new=renamed, changed=["first_name"]),
    )
    _contact(apps, updated, first)
    contact = get_contact(store_id, customer_id)
    assert contact is not None
    assert (contact.first_name, contact.orders_count, contact.version) == ("Bia", 2, 2)


def test_a_condition_split_on_spend_and_orders_reads_the_customer_at_that_step(
    apps: dict[str, Any], store_id: str, flows_api: Api
) -> None:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [
            {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "big"},
            {
                "id": "big",
                "type": "condition",
                "condition": {"filter": {"spent_min": "500", "orders_min": 2, "favorite": True}},
                "then": "vip",
            },
            {"id": "vip", "type": "send_email", "template_id": "builtin-abandoned-cart"},
        ],
    }
    answer = flows_api.call(
        "POST", "/flows", {"name": "VIP carts", "definition": definition, "state": "live"}
    )
    assert answer.status == 201, answer.body
    driver = FlowsDriver(apps["automation"], store_id)
    vip, small = uuid.uuid4().hex, uuid.uuid4().hex
    profiles = {
        who: _profile(who, favorite=True, orders_count=1, total_spent=Decimal("90"))
        for who in (vip, small)
    }
    _contact(apps, *(created(store_id, p) for p in profiles.values()))
    for who in (vip, small):
        line = CartUpdatedV1(
            customer_id=who,
            product_id="P-1",
            sku="SKU-1",
            name="Camiseta",
            quantity=1,
            price=Decimal("79.90"),
            currency="BRL",
            at=T0,
        )
        driver.publish("cart.updated", line, T0)
    driver.settle()
    # During the wait, the VIP's second order: the split sees it, not what held at entry.
    richer = _profile(vip, favorite=True, orders_count=2, total_spent=Decimal("590.00"))
    _contact(apps, _totals(store_id, profiles[vip], richer, T0 + timedelta(minutes=30)))

    driver.fire_timers(T0 + timedelta(hours=1, minutes=1))

    (sent,) = sent_mail_to(profiles[vip].email or "")
    assert list(sent_mail_to(profiles[small].email or "")) == []
    assert "Camiseta" in message_from_string(sent["raw"]).as_string()
    steps = flows_api.call("GET", f"/flows/{answer.body['id']}/stats").body["steps"]
    assert {s["step_id"]: s["sent"] for s in steps}["vip"] == 1


def test_a_filter_the_customers_list_does_not_have_is_refused_naming_it(
    flows_api: Api,
) -> None:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "steps": [
            {
                "id": "split",
                "type": "condition",
                "condition": {"filter": {"shoe_size": 42}},
                "then": "bye",
            },
            {"id": "bye", "type": "exit"},
        ],
    }

    answer = flows_api.call("POST", "/flows", {"name": "X", "definition": definition})

    assert answer.status == 422
    fields = [error["field"] for error in answer.body["errors"]]
    assert fields == ["definition.steps.0.condition.filter.shoe_size"]

    text_search = {**definition, "filter": {"q": "ana"}, "steps": [{"id": "bye", "type": "exit"}]}
    answer = flows_api.call("POST", "/flows", {"name": "X", "definition": text_search})
    assert [error["field"] for error in answer.body["errors"]] == ["definition.filter.q"]


def test_an_empty_range_cannot_go_live(flows_api: Api) -> None:
    definition = {
        "trigger": {"type": "event", "event": "cart.updated"},
        "filter": {"orders_min": 3, "orders_max": 1},
        "steps": [{"id": "bye", "type": "exit"}],
    }
    draft = flows_api.call("POST", "/flows", {"name": "X", "definition": definition})
    assert draft.status == 201, draft.body

    answer = flows_api.call(
        "PUT",
        f"/flows/{draft.body['id']}/state",
        {"state": "live"},
        headers={"If-Match": draft.headers["etag"]},
    )

    assert answer.status == 422
    assert answer.body["type"].endswith("flow-not-valid")
    assert [e["field"] for e in answer.body["errors"]] == ["definition.filter.orders_min"]
    assert [e["code"] for e in answer.body["errors"]] == ["range_reversed"]
