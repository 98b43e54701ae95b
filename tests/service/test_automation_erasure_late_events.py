"""After a privacy erasure, the customer's late events bring nothing back: no contact, no
order time, no cart, no date index entry, no run; and an order the customers service counted
for the customer (a guest order matched by e-mail there) ends an abandoned-cart run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from chalice.test import Client

from bench.flowsdriver import FlowsDriver
from clientela.events import OutgoingEvent
from clientela_events.customers import CustomerUpdatedV1
from tests.service.automation_mail import created, customer, invoke
from tests.service.automation_mail import sqs_record as contact_record
from tests.service.conftest import Api
from tests.service.privacy_support import answers, request, requested, sqs_record
from tests.service.test_automation_flows import T0, abandoned_cart, contact, mails, order
from tests.service.test_automation_flows import cart as cart_updated

__all__ = ["answers"]  # a fixture


@pytest.fixture
def api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


def _contacts(apps: dict[str, Any], *bodies: Any) -> None:
    records = [b if isinstance(b, dict) and "messageId" in b else contact_record(b) for b in bodies]
    assert invoke(apps["automation"], "on_contact_event", *records) == {"batchItemFailures": []}


def test_late_events_of_an_erased_customer_recreate_nothing_and_start_no_run(
    apps: dict[str, Any], api: Api, store_id: str, answers: Any
) -> None:
    from chalicelib.automation.contacts.usecases import contact_store, get_contact
    from chalicelib.automation.runs import usecases as runs

    abandoned_cart(api)
    driver = FlowsDriver(apps["automation"], store_id)
    cid = "C" + uuid.uuid4().hex[:20].upper()
    profile = customer(cid, birthday=date(1990, 3, 4))
    _contacts(apps, created(store_id, profile))
    erasure = requested(store_id, request(store_id, cid, "erasure"))
    _contacts(apps, sqs_record(erasure, "clientela-automation-contact-events"))

    # Late: the profile (an update published before the erasure), a cart, an order.
    newer = customer(cid, version=2, birthday=date(1990, 3, 4), first_name="Bia")
    late_update = OutgoingEvent(
        "customer.updated",
        1,
        uuid.uuid4(),
        store_id,
        T0,
        CustomerUpdatedV1(old=profile, new=newer, changed=["first_name"]),
    )
    _contacts(apps, late_update)
    driver.publish("customer.updated", late_update.data, T0)
    cart_updated(driver, cid, T0)
    order(driver, cid, T0 + timedelta(minutes=1))
    driver.settle()

    assert get_contact(store_id, cid) is None
    item = contact_store().client.get_item(
        TableName=contact_store().table,
        Key={"pk": {"S": f"CONTACT#{store_id}#{cid}"}, "sk": {"S": "CONTACT"}},
    )["Item"]
    assert set(item) == {"pk", "sk", "version", "deleted", "erased"}
    assert runs.store().customer_runs(store_id, cid) == []
    assert runs.store().cart(store_id, cid) == []
    assert runs.store().dates(store_id, cid) == {}
    driver.fire_timers(T0 + timedelta(hours=5))
    assert mails(profile.email or "") == []


def test_an_order_counted_by_the_customers_service_ends_the_abandoned_cart_run(
    apps: dict[str, Any], api: Api, store_id: str
) -> None:
    """The store platform sent a guest order (e-mail, no customer id): flows cannot tell whose
    it is, the customers service can (it counts it for the customer with that e-mail) and
    publishes the customer's new aggregates."""
    from clientela_events.customers import ConsentV1, CustomerV1

    abandoned_cart(api)
    driver = FlowsDriver(apps["automation"], store_id)
    cid, email = contact(store_id)
    cart_updated(driver, cid, T0)
    driver.settle()

    def snapshot(**aggregates: Any) -> CustomerV1:
        return CustomerV1(
            id=cid,
            email=email,
            email_consent=ConsentV1(state="subscribed", updated_at=T0),
            created_at=T0,
            updated_at=T0,
            version=1,
            **aggregates,
        )

    counted = CustomerUpdatedV1(
        old=snapshot(orders_count=0),
        new=snapshot(orders_count=1, last_order_at=T0 + timedelta(hours=2)),
        changed=["orders_count", "last_order_at"],
    )
    driver.publish("customer.updated", counted, T0 + timedelta(hours=2))
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=4, minutes=1))

    assert mails(email) == []
