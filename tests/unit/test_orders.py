"""Order rules with no AWS: states, refunds, early events, and the stored form of an order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.keys import stamp
from chalicelib.customers.orders.rules import (
    KINDS,
    Booking,
    Delta,
    LineItem,
    Order,
    Pending,
    Refund,
    Ticket,
    bounds_with,
    cancel,
    entry_id,
    kind_problem,
    place,
    refund,
    seen_moving,
)
from chalicelib.customers.orders.store import order_item, pending_item, read_order, report_fact
from chalicelib.customers.profiles.rules import normalise_email

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def an_order(total: str = "100.00", **changes: object) -> Order:
    values: dict[str, object] = {
        "order_id": "ES-1",
        "email": "lucia@example.es",
        "placed_at": T0,
        "currency": "EUR",
        "total": Decimal(total),
        "items": (
            LineItem("p-1", "ZAP-1", "Zapatillas", 2, Decimal("40.00"), "Montaña", "Calzado"),
            LineItem("p-2", "CAL-2", "Calcetines", 1, Decimal("20.00")),
        ),
        "customer_id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
    }
    return Order(**{**values, **changes})  # type: ignore[arg-type]


def test_a_placed_order_counts_its_total() -> None:
    order = place(an_order(), None)

    assert order.status == "placed"
    assert order.contribution() == Delta(1, Decimal("100.00"))
    assert order.items[0].amount == Decimal("80.00")


def test_cancelling_takes_the_order_out_once() -> None:
    refunded, _ = refund(place(an_order(), None), Refund("RF-1", T0, Decimal("30")))

    cancelled, delta = cancel(refunded, T0 + timedelta(1))
    again, nothing = cancel(cancelled, T0 + timedelta(2))

    assert delta == Delta(-1, Decimal("-70.00"))
    assert (cancelled.status, cancelled.counted, cancelled.cancelled_at) == (
        "cancelled",
        False,
        T0 + timedelta(1),
    )
    assert again is cancelled
    assert not nothing


def test_refunds_are_capped_counted_once_and_default_to_the_rest() -> None:
    order = place(an_order(), None)

    order, first = refund(order, Refund("RF-1", T0, Decimal("30.25")))
    once = order
    same, repeated = refund(order, Refund("RF-1", T0, Decimal("30.25")))
    order, rest = refund(order, Refund("RF-2", T0, None))
    order, beyond = refund(order, Refund("RF-3", T0, Decimal("5")))

    assert first == Delta(0, Decimal("-30.25"))
    assert same is once
    assert not repeated
    assert rest == Delta(0, Decimal("-69.75"))
    assert not beyond
    assert order.status == "refunded"
    assert (order.refunded_total, order.spent) == (Decimal(100), Decimal(0))
    assert [r.amount for r in order.refunds] == [Decimal("30.25"), Decimal("69.75"), Decimal(0)]
    assert order.contribution() == Delta(1, Decimal(0))  # a refunded order still counts


def test_a_refund_of_a_cancelled_order_changes_no_aggregate() -> None:
    cancelled, _ = cancel(place(an_order(), None), T0)

    after, delta = refund(cancelled, Refund("RF-1", T0, Decimal("10")))

    assert not delta
    assert (after.status, after.refunded_total) == ("cancelled", Decimal("10"))


def test_what_came_before_the_order_applies_when_it_is_placed() -> None:
    early = Pending(cancelled_at=None, refunds=(Refund("RF-1", T0, Decimal("25")),))
    refunded = place(an_order(), early)
    cancelled = place(an_order(), Pending(cancelled_at=T0, refunds=early.refunds))

    assert (refunded.status, refunded.contribution()) == ("refunded", Delta(1, Decimal(75)))
    assert (cancelled.status, cancelled.contribution()) == ("cancelled", Delta())
    assert cancelled.refunded_total == Decimal(25)


def test_first_and_last_order_dates() -> None:
    assert bounds_with(None, None, "2026-03-01") == ("2026-03-01", "2026-03-01")
    assert bounds_with("2026-03-02", "2026-03-05", "2026-03-01") == ("2026-03-01", "2026-03-05")
    assert bounds_with("2026-03-02", "2026-03-05", "2026-03-09") == ("2026-03-02", "2026-03-09")
    assert bounds_with("2026-03-02", "2026-03-05", "2026-03-03") == ("2026-03-02", "2026-03-05")


def test_timeline_entry_ids_follow_their_cause() -> None:
    assert entry_id("purchased", "ES-1") == entry_id("purchased", "ES-1")
    assert entry_id("purchased", "ES-1") != entry_id("order_cancelled", "ES-1")
    assert entry_id("order_refunded", "ES-1", "2") != entry_id("order_refunded", "ES-12", "")
    assert len(entry_id("purchased", "ES-1")) == 32


def test_emails_compare_as_profiles_store_them() -> None:
    assert normalise_email("  Lucia.Perez@Example.ES ") == "lucia.perez@example.es"
    with pytest.raises(ValueError, match="e-mail"):
        normalise_email("lucia@@example.es")


# The stored form


def test_an_order_reads_back_as_it_was_stored() -> None:
    order, _ = refund(place(an_order(total="100.10"), None), Refund("RF-1", T0, Decimal("0.10")))

    item = order_item("s1", order)

    assert read_order(item) == order
    assert item["pk"] == {"S": "STORE#s1#ORDER#ES-1"}
    assert item["sk"] == {"S": "ORDER#ES-1"}
    assert item["owner"] == {"S": "STORE#s1#CUSTOMER#01JD3Z6Q4W0W8Y5J3K2M1N0PQR"}
    assert item["owner_sk"] == {"S": "2026-03-01T10:00:00.000000Z#ES-1"}
    assert item["placed_at"] == {"S": "2026-03-01T10:00:00.000000Z"}
    # Numbers are exact and as DynamoDB keeps them (no float, no trailing zeros, no exponent).
    assert item["total"] == {"N": "100.1"}
    assert item["refunded_total"] == {"N": "0.1"}
    assert item["items"]["L"][0]["M"]["unit_price"] == {"N": "40"}
    big = order_item("s1", an_order(total="1E+3"))
    assert big["total"] == {"N": "1000"}


def test_a_placeholder_is_not_an_order_and_holds_no_index_keys() -> None:
    waiting = Pending(cancelled_at=T0, refunds=(Refund("RF-1", T0, None),))

    item = pending_item("s1", "ES-1", waiting)

    assert read_order(item) == waiting
    assert not {"placed_at", "owner", "owner_sk", "email"} & set(item)


def test_reports_read_what_they_need_of_an_order() -> None:
    order, _ = refund(place(an_order(), None), Refund("RF-1", T0, Decimal("5")))

    fact = report_fact(order_item("s1", order))

    assert (fact.order_id, fact.email, fact.currency) == ("ES-1", "lucia@example.es", "EUR")
    assert (fact.total, fact.refunded_total, fact.cancelled) == (Decimal(100), Decimal(5), False)
    assert fact.placed_at == "2026-03-01T10:00:00.000000Z"
    assert [(line.sku, line.brand, line.quantity) for line in fact.lines] == [
        ("ZAP-1", "Montaña", 2),
        ("CAL-2", None, 1),
    ]


# Order tolerance: any arrival order, any redelivery, the same result


Event = tuple[str, object]
amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=150, places=2, allow_nan=False))


@st.composite
def histories(draw: st.DrawFn) -> tuple[Decimal, list[Event]]:
    total = draw(st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
    refunds = draw(st.lists(amounts, max_size=4))
    events: list[Event] = [("placed", None)]
    events += [("refund", Refund(f"RF-{n}", T0, amount)) for n, amount in enumerate(refunds)]
    if draw(st.booleans()):
        events.append(("cancel", T0 + timedelta(1)))
    events += draw(st.lists(st.sampled_from(events), max_size=3))  # redeliveries
    return total, draw(st.permutations(events))


def _deliver(total: Decimal, events: list[Event]) -> tuple[Order, Delta]:
    """What the use cases do, event by event, without the store."""
    state: Order | Pending | None = None
    counted = Delta()
    for kind, value in events:
        change = Delta()
        if kind == "placed" and not isinstance(state, Order):
            state = place(an_order(str(total)), state)
            change = state.contribution()
        elif kind == "cancel" and isinstance(state, Order):
            state, change = cancel(state, value)  # type: ignore[arg-type]
        elif kind == "cancel":
            waiting = state or Pending()
            state = Pending(waiting.cancelled_at or value, waiting.refunds)  # type: ignore[arg-type]
        elif kind == "refund" and isinstance(state, Order):
            state, change = refund(state, value)  # type: ignore[arg-type]
        elif kind == "refund":
            waiting = state or Pending()
            given: Refund = value  # type: ignore[assignment]
            if not waiting.knows(given.refund_id):
                state = Pending(waiting.cancelled_at, (*waiting.refunds, given))
        counted = Delta(counted.orders + change.orders, counted.spent + change.spent)
    assert isinstance(state, Order)
    return state, counted


@given(histories())
def test_any_arrival_order_ends_in_the_same_state_and_counts(
    history: tuple[Decimal, list[Event]],
) -> None:
    total, events = history
    kinds = {kind for kind, _ in events}
    refunds = {v.refund_id: v.amount for _, v in events if isinstance(v, Refund)}

    final, counted = _deliver(total, events)

    asked = [total if amount is None else amount for amount in refunds.values()]
    assert final.refunded_total == min(total, sum(asked, Decimal(0)))
    assert final.counted == ("cancel" not in kinds)
    assert counted == final.contribution()
    assert counted.spent >= 0


# Kinds: products, bookings, tickets


def test_bookings_and_tickets_round_trip_with_their_schedule() -> None:
    booked = an_order(
        kind="booking",
        booking=Booking("svc-1", T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1), "Corte"),
        refunds=(Refund("RF-1", T0, Decimal("5"), reason="Late", via_api=True),),
        refunded_total=Decimal("5"),
        status="refunded",
    )
    item = order_item("s1", booked)

    assert read_order(item) == booked
    assert item["schedule_sk"]["S"].startswith("booking#2026-03-03T10:00:00.000000Z#ES-1")
    assert report_fact(item).kind == "booking"
    cancelled, _ = cancel(booked, T0, reason="Ill", via_api=True)
    assert "schedule_sk" not in order_item("s1", cancelled)  # off the schedule
    assert read_order(order_item("s1", cancelled)) == cancelled
    ticket = an_order(kind="ticket", ticket=Ticket("ev-1", T0 + timedelta(days=9)))
    assert read_order(order_item("s1", ticket)) == ticket
    assert order_item("s1", ticket)["schedule_sk"]["S"].startswith("ticket#2026-03-10")


def test_orders_stored_before_kinds_read_as_products() -> None:
    item = order_item("s1", an_order())
    del item["kind"]
    stored = json.loads(item["report"]["S"])
    item["report"]["S"] = json.dumps(stored[:9])

    assert read_order(item) == an_order()
    assert report_fact(item).kind == "product"
    assert "schedule_sk" not in item


@given(st.sampled_from(KINDS), st.booleans(), st.booleans(), st.integers(-3, 3))
def test_an_order_has_its_kinds_details_and_no_others(
    kind: str, with_booking: bool, with_ticket: bool, hours: int
) -> None:
    booking = Booking("s", T0, T0 + timedelta(hours=hours)) if with_booking else None
    order = an_order(kind=kind, booking=booking, ticket=Ticket("e", T0) if with_ticket else None)

    problem = kind_problem(order)

    fits = (with_booking == (kind == "booking")) and (with_ticket == (kind == "ticket"))
    if not fits:
        assert problem is not None
        assert problem[0] in ("booking", "ticket")
    elif with_booking and hours <= 0:
        assert problem == ("booking.ends_at", "must be after starts_at")
    else:
        assert problem is None


_instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis attaches the zone
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(_instants, st.none() | _instants, _instants)
def test_a_purchase_moves_last_seen_forward_never_back_nor_past_now(
    at: datetime, seen: datetime | None, now: datetime
) -> None:
    before = None if seen is None else stamp(seen)

    moved = seen_moving(at, before, now)

    expected = stamp(min(at, now))
    if before is not None and before >= expected:
        assert moved is None
    else:
        assert moved == expected
        assert moved <= stamp(now)
