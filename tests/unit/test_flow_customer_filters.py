"""A flow's filter means what `GET /customers` means by the same parameters.

A customer as the customers service holds them travels the way automation learns of them (the
`customer.*` event snapshot, the contacts read model, the run's view), and a flow filter with
the same values as a customers list query must keep exactly the customers that query keeps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.automation.contacts.usecases import contact_of
from chalicelib.automation.flows.rules import CustomerFilter, Definition, problems_of
from chalicelib.automation.runs.rules import Customer as RunCustomer
from chalicelib.automation.runs.rules import filter_allows
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.publishing import _snapshot
from chalicelib.customers.search.models import CustomerFilterQuery
from clientela_events.customers import CustomerV1

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
DAY = timedelta(days=1)
STATES = ("subscribed", "unsubscribed", "pending", "never_asked")
instants = st.integers(min_value=-400, max_value=0).map(lambda d: NOW + d * DAY)
days = st.integers(min_value=-400, max_value=0).map(lambda d: (NOW + d * DAY).date())
amounts = st.integers(min_value=0, max_value=5000).map(lambda n: Decimal(n) / 10)


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    orders = draw(st.integers(min_value=0, max_value=5))
    ratings = draw(st.integers(min_value=0, max_value=3))
    return Customer(
        id="01J0000000000000000000000A",
        store_id="s",
        created_at=draw(instants),
        updated_at=NOW,
        version=draw(st.integers(min_value=1, max_value=9)),
        email="ana@example.com",
        city=draw(st.sampled_from([None, "São Paulo", "sao paulo", "Milano"])),
        country=draw(st.sampled_from([None, "BR", "IT"])),
        tags=draw(st.lists(st.sampled_from(["vip", "staff", "new"]), unique=True)),
        favorite=draw(st.booleans()),
        email_consent=Consent(state=draw(st.sampled_from(STATES))),
        sms_consent=Consent(state=draw(st.sampled_from(STATES))),
        last_seen_at=draw(st.none() | instants),
        orders_count=orders,
        total_spent=draw(amounts) if orders else Decimal(0),
        currency="BRL" if orders else None,
        last_order_at=draw(instants) if orders else None,
        rating_count=ratings,
        rating_sum=Decimal(draw(st.integers(min_value=ratings, max_value=5 * ratings))),
    )


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    """Parameters of GET /customers that a flow filter also takes, by the same names."""
    candidates: dict[str, Any] = {
        "favorite": st.booleans(),
        "sms_consent": st.sampled_from(STATES),
        "city": st.sampled_from(["Sao Paulo", "MILANO", "Roma"]),
        "status": st.sampled_from(["active", "inactive"]),
        "created_from": days.map(date.isoformat),
        "created_to": days.map(date.isoformat),
        "last_seen_from": instants.map(datetime.isoformat),
        "last_seen_to": days.map(date.isoformat),
        "orders_min": st.integers(min_value=0, max_value=5),
        "orders_max": st.integers(min_value=0, max_value=5),
        "spent_min": amounts.map(str),
        "spent_max": amounts.map(str),
        "last_order_before": days.map(date.isoformat),
        "last_order_after": days.map(date.isoformat),
        "never_ordered": st.booleans(),
        "rating_min": st.sampled_from(["1", "2.5", "4", "5"]),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(candidates)), unique=True, max_size=4))
    return {name: draw(candidates[name]) for name in chosen}


def _as_automation_sees(customer: Customer) -> RunCustomer:
    """The customer through the event contract and the contacts read model."""
    snapshot = CustomerV1.model_validate_json(_snapshot(customer).model_dump_json())
    contact = contact_of("s", snapshot)
    return RunCustomer(
        customer_id=contact.customer_id,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        language=contact.language,
        country=contact.country,
        tags=frozenset(contact.tags),
        email_consent=contact.email_consent,
        favorite=contact.favorite,
        city=contact.city,
        sms_consent=contact.sms_consent,
        created_at=contact.created_at,
        last_seen_at=contact.last_seen_at,
        last_order_at=snapshot.last_order_at,
        orders_count=contact.orders_count or 0,
        total_spent=contact.total_spent or Decimal(0),
        rating_average=contact.rating_average,
    )


@settings(max_examples=300, deadline=None)
@given(customers(), queries())
def test_a_flow_filter_keeps_whom_the_customers_list_keeps(
    customer: Customer, query: dict[str, Any]
) -> None:
    flow_filter = CustomerFilter.model_validate(query)
    definition = Definition.model_validate(
        {
            "trigger": {"type": "event", "event": "cart.updated"},
            "filter": query,
            "steps": [{"id": "s", "type": "exit"}],
        }
    )

    try:
        listed = CustomerFilterQuery.model_validate(query)
    except ValidationError:  # an empty range: the list refuses it, the flow cannot go live
        assert [fault.field.split(".")[0] for fault in problems_of(definition)] == ["filter"]
        return
    assert problems_of(definition) == []
    assert filter_allows(flow_filter, _as_automation_sees(customer), NOW) == (
        listed.to_filter(NOW).matches(customer)
    )


def test_an_empty_range_or_a_blank_city_cannot_go_live_and_names_the_field() -> None:
    definition = Definition.model_validate(
        {
            "trigger": {"type": "event", "event": "cart.updated"},
            "filter": {"spent_min": "100", "spent_max": "50"},
            "steps": [
                {
                    "id": "big",
                    "type": "condition",
                    "condition": {
                        "filter": {"created_from": "2026-11-02", "created_to": "2026-11-01"}
                    },
                    "then": "bye",
                },
                {"id": "bye", "type": "exit"},
            ],
        }
    )

    found = {fault.field: fault.reason for fault in problems_of(definition)}

    assert found == {
        "filter.spent_min": "The flow filter: spent_min must not be after spent_max",
        "steps.0.condition.filter.created_from": (
            "Step big: created_from must not be after created_to"
        ),
    }


def test_the_same_day_is_a_whole_day_at_both_ends() -> None:
    same_day = CustomerFilter.model_validate(
        {"created_from": "2026-11-01", "created_to": "2026-11-01"}
    )
    at = datetime(2026, 11, 1, 23, 59, tzinfo=UTC)
    customer = RunCustomer(
        "c", None, None, None, None, None, frozenset(), "never_asked", created_at=at
    )

    assert filter_allows(same_day, customer, NOW)
    assert not filter_allows(same_day, RunCustomer(**{**customer.__dict__, "created_at": at + DAY}))
