"""Date triggers against moto with Step Functions executing: the date index filed from the
customer and order events, the hourly schedule starting one run per flow, customer and
occasion (a birthday each year), the built-in birthday and win-back flows live."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.flowsdriver import FlowsDriver, sent_mail_to
from clientela_events.customers import (
    ConsentV1,
    CustomerCreatedV1,
    CustomerDeletedV1,
    CustomerUpdatedV1,
    CustomerV1,
)
from clientela_events.storefront import LineItemV1, OrderPlacedV1
from tests.service.conftest import Api

# 10:00 in São Paulo (the stores' default zone here is UTC: 13:00 is the same day).
T0 = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def profile(customer_id: str, email: str, birthday: date | None, version: int) -> CustomerV1:
    return CustomerV1(
        id=customer_id,
        email=email,
        first_name="Bia",
        birthday=birthday,
        email_consent=ConsentV1(state="subscribed", updated_at=T0),
        created_at=datetime(2025, 1, 10, tzinfo=UTC),
        updated_at=T0,
        version=version,
    )


def customer(driver: FlowsDriver, store_id: str, birthday: date | None) -> tuple[str, str]:
    """Created through the bus (the date index files it), known to the contacts read model."""
    from chalicelib.automation.contacts import usecases as contacts

    customer_id = uuid.uuid4().hex
    email = f"bia-{customer_id[:8]}@example.com"
    created = profile(customer_id, email, birthday, 1)
    contacts.keep_profile(store_id, created)
    driver.publish(
        "customer.created", CustomerCreatedV1(customer=created), T0 - timedelta(days=400)
    )
    return customer_id, email


def order(driver: FlowsDriver, store_id: str, customer_id: str, at: datetime) -> None:
    from chalicelib.automation.contacts import usecases as contacts

    data = OrderPlacedV1(
        order_id=f"O-{uuid.uuid4().hex[:8]}",
        customer_id=customer_id,
        email="x@example.com",
        placed_at=at,
        currency="BRL",
        total=Decimal("50.00"),
        items=[
            LineItemV1(
                product_id="P", sku="S", name="Caneca", quantity=1, unit_price=Decimal("50.00")
            )
        ],
    )
    contacts.note_order(store_id, customer_id, at)
    driver.publish("order.placed", data, at)


def entered(flows_api: Api, flow_id: str) -> int:
    return int(flows_api.call("GET", f"/flows/{flow_id}/stats").body["entered"])


def test_a_birthday_starts_one_run_a_year_whatever_the_ticks(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow = flows_api.call("POST", "/flows/templates/birthday")
    assert flow.status == 201, flow.body
    flow_id = flow.body["id"]
    _, email_today = customer(driver, store_id, date(1990, 11, 26))
    _, email_tomorrow = customer(driver, store_id, date(1988, 11, 27))
    driver.settle()

    driver.fire_dates(T0)
    driver.fire_dates(T0 + timedelta(hours=1))  # the same day's later ticks start nothing
    driver.fire_dates(T0 + timedelta(hours=2))

    assert len(list(sent_mail_to(email_today))) == 1
    assert list(sent_mail_to(email_tomorrow)) == []
    assert entered(flows_api, flow_id) == 1
    driver.fire_dates(T0 + timedelta(days=1))
    assert len(list(sent_mail_to(email_tomorrow))) == 1
    # Next year, the same customer's birthday is a new occasion: a new run.
    driver.fire_dates(T0 + timedelta(days=365))
    assert len(list(sent_mail_to(email_today))) == 2
    assert entered(flows_api, flow_id) == 3


def test_a_changed_birthday_moves_and_a_deleted_customer_leaves_the_index(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = flows_api.call("POST", "/flows/templates/birthday").body["id"]
    moved, moved_email = customer(driver, store_id, date(1990, 3, 1))
    gone, gone_email = customer(driver, store_id, date(1991, 11, 26))
    old = profile(moved, moved_email, date(1990, 3, 1), 1)
    new = profile(moved, moved_email, date(1990, 11, 26), 2)
    driver.publish(
        "customer.updated", CustomerUpdatedV1(old=old, new=new, changed=["birthday"]), T0
    )
    # A late copy of the first version moves nothing back.
    driver.publish("customer.created", CustomerCreatedV1(customer=old), T0)
    driver.publish(
        "customer.deleted", CustomerDeletedV1(customer_id=gone, version=1, deleted_at=T0), T0
    )
    driver.settle()

    driver.fire_dates(T0)

    assert len(list(sent_mail_to(moved_email))) == 1
    assert list(sent_mail_to(gone_email)) == []
    assert entered(flows_api, flow_id) == 1


def test_win_back_is_due_90_days_after_the_last_order_only(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = flows_api.call("POST", "/flows/templates/win_back").body["id"]
    lapsed, lapsed_email = customer(driver, store_id, None)
    back, back_email = customer(driver, store_id, None)
    ninety_days_ago = T0 - timedelta(days=90)
    order(driver, store_id, lapsed, ninety_days_ago)
    order(driver, store_id, back, ninety_days_ago)
    order(driver, store_id, back, T0 - timedelta(days=10))  # ordered again: not lapsed
    order(driver, store_id, lapsed, ninety_days_ago - timedelta(days=5))  # late: moves nothing
    driver.settle()

    driver.fire_dates(T0)
    driver.fire_dates(T0 + timedelta(minutes=30))

    assert len(list(sent_mail_to(lapsed_email))) == 1
    assert list(sent_mail_to(back_email)) == []
    assert entered(flows_api, flow_id) == 1
