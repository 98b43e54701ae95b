"""Orders, refunds, cancellations and reviews, in-process against moto provisioned from infra/.

Orders arrive through `POST /orders` and as `order.*` events on the inbox (delivered here with
`inbox.handle_event`, as the queue consumer does). Each test asserts what the customer item,
the order items and the timeline hold, and what the API answers.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from pydantic import BaseModel

from clientela.events import OutgoingEvent
from clientela_events.storefront import (
    OrderCancelledV1,
    OrderPlacedV1,
    OrderRefundedV1,
    ReviewCreatedV1,
)
from tests.conftest import token_for
from tests.service.conftest import Api
from tests.service.test_customer_events import stream_records

TABLE = "clientela-customers"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
_deserializer = TypeDeserializer()


# Helpers


def line(**changes: Any) -> dict[str, Any]:
    return {
        "product_id": "p-7781",
        "sku": "ZAP-TRAIL-42",
        "name": "Zapatillas de trail Sierra",
        "brand": "Montaña",
        "category": "Calzado",
        "quantity": 1,
        "unit_price": "69.95",
        **changes,
    }


def order(order_id: str, email: str = "lucia.perez@example.es", **changes: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "email": email,
        "placed_at": T0.isoformat(),
        "currency": "EUR",
        "total": "69.95",
        "items": [line()],
        **changes,
    }


def at(days: int) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def stamp(days: int) -> str:
    return (T0 + timedelta(days=days)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def record(api: Api, *orders: dict[str, Any]) -> list[dict[str, Any]]:
    answer = api.call("POST", "/orders", {"orders": list(orders)})
    assert answer.status == 200, answer.body
    results: list[dict[str, Any]] = answer.body["results"]
    return results


def item(pk: str, sk: str) -> dict[str, Any] | None:
    found = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    raw = found.get("Item")
    return None if raw is None else {k: _deserializer.deserialize(v) for k, v in raw.items()}


def customer(store_id: str, customer_id: str) -> dict[str, Any]:
    found = item(f"STORE#{store_id}#CUSTOMER#{customer_id}", f"CUSTOMER#{customer_id}")
    assert found is not None
    return found


def aggregates(store_id: str, customer_id: str) -> tuple[Any, ...]:
    c = customer(store_id, customer_id)
    return (
        c.get("orders_count", 0),
        c.get("total_spent", Decimal(0)),
        c.get("first_order_at"),
        c.get("last_order_at"),
    )


def timeline_kinds(store_id: str, customer_id: str) -> list[str]:
    found = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :t)",
        ExpressionAttributeValues={
            ":pk": {"S": f"STORE#{store_id}#CUSTOMER#{customer_id}"},
            ":t": {"S": "T#"},
        },
        ConsistentRead=True,
    )
    return [i["kind"]["S"] for i in found["Items"]]


def new_customer(api: Api, email: str) -> str:
    answer = api.call("POST", "/customers", {"email": email})
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def deliver_to_inbox(
    store_id: str, event_type: str, data: BaseModel, *, event_id: uuid.UUID | None = None
) -> None:
    """Hands one contract event to the customers inbox, as the queue consumer does."""
    outgoing = OutgoingEvent(event_type, 1, event_id or uuid.uuid4(), store_id, T0, data)
    entry = outgoing.entry("clientela")
    sys.modules["chalicelib.customers.inbox"].handle_event(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "time": T0.isoformat(),
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(entry["Detail"]),
        }
    )


@pytest.fixture
def deliver(apps: dict[str, Any], store_id: str) -> Any:
    def run(event_type: str, data: BaseModel, *, event_id: uuid.UUID | None = None) -> None:
        deliver_to_inbox(store_id, event_type, data, event_id=event_id)

    return run


def placed(order_id: str, email: str = "lucia.perez@example.es", **changes: Any) -> OrderPlacedV1:
    return OrderPlacedV1.model_validate(order(order_id, email, **changes))


# POST /orders


def test_a_guest_order_creates_the_customer_and_counts_for_it(api: Api, store_id: str) -> None:
    (result,) = record(api, order("ES-1", "  Lucia.Perez@Example.ES ", total="84.85"))

    assert result["result"] == "created"
    assert result["reason"] is None
    customer_id = result["customer_id"]
    assert api.call("GET", f"/customers/{customer_id}").body["email"] == "lucia.perez@example.es"
    assert aggregates(store_id, customer_id) == (1, Decimal("84.85"), stamp(0), stamp(0))
    assert customer(store_id, customer_id)["last_order_key"] == stamp(0)
    stored = item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1")
    assert stored is not None
    assert stored["owner"] == f"STORE#{store_id}#CUSTOMER#{customer_id}"
    assert stored["status"] == "placed"
    assert stored["counted"] is True
    assert timeline_kinds(store_id, customer_id) == ["purchased"]


def test_replaying_or_reordering_a_batch_never_counts_twice(api: Api, store_id: str) -> None:
    first = [
        order("ES-2", placed_at=at(5), total="10.10"),
        order("ES-1", placed_at=at(1), total="20.20"),
        order("ES-3", placed_at=at(3), total="30.30"),
    ]
    results = record(api, *first)
    customer_id = results[0]["customer_id"]
    assert [r["result"] for r in results] == ["created"] * 3
    assert {r["customer_id"] for r in results} == {customer_id}

    again = record(api, order("ES-0", placed_at=at(0), total="1.00"), *reversed(first), first[0])

    assert [r["result"] for r in again] == ["created"] + ["already_recorded"] * 4
    assert all(r["customer_id"] == customer_id for r in again)
    assert aggregates(store_id, customer_id) == (4, Decimal("61.60"), stamp(0), stamp(5))


def test_an_order_recorded_before_keeps_what_it_was_recorded_with(api: Api, store_id: str) -> None:
    (created,) = record(api, order("ES-1", total="5.00"))

    (again,) = record(api, order("ES-1", total="500.00", email="someone.else@example.es"))

    assert again == {**created, "result": "already_recorded"}
    assert aggregates(store_id, created["customer_id"])[:2] == (1, Decimal("5.00"))


def test_an_order_counts_for_the_customer_it_names(api: Api, store_id: str) -> None:
    customer_id = new_customer(api, "ana@example.es")

    (result,) = record(api, order("ES-1", "ana.work@example.es", customer_id=customer_id))

    assert result["customer_id"] == customer_id
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("69.95"))
    # The order keeps its own e-mail (reports group by it); no profile was made for it.
    assert api.call("GET", "/customers?limit=10").body["items"][0]["id"] == customer_id
    assert len(api.call("GET", "/customers?limit=10").body["items"]) == 1


def test_an_order_naming_a_customer_the_store_lacks_refuses_the_batch(
    api: Api, store_id: str
) -> None:
    unknown = "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    batch = [order("ES-1"), order("ES-2", customer_id=unknown), order("ES-3", customer_id="x")]

    answer = api.call("POST", "/orders", {"orders": batch})

    assert answer.status == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [(e["pointer"], e["reason"]) for e in answer.body["errors"]] == [
        ("/orders/1/customer_id", "No customer with this id in this store"),
        ("/orders/2/customer_id", "No customer with this id in this store"),
    ]
    for order_id in ("ES-1", "ES-2", "ES-3"):  # nothing recorded, not even the good one
        assert item(f"STORE#{store_id}#ORDER#{order_id}", f"ORDER#{order_id}") is None
    assert api.call("GET", "/customers/count").body["count"] == 0  # nor the guest's profile


def test_a_recorded_order_stays_recorded_after_its_customer_is_gone(api: Api) -> None:
    (first,) = record(api, order("ES-1"))
    customer_id = first["customer_id"]
    again = order("ES-1", customer_id=customer_id)
    assert api.call("DELETE", f"/customers/{customer_id}").status == 204

    # A retry of a batch recorded before changes nothing, whatever it names now.
    assert [r["result"] for r in record(api, again, order("ES-2"))] == [
        "already_recorded",
        "created",
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total": "-1"}, "orders.3.total"),
        ({"total": "1.23456"}, "orders.3.total"),
        ({"total": "NaN"}, "orders.3.total"),
        ({"total": 12.5e300}, "orders.3.total"),
        ({"currency": "euro"}, "orders.3.currency"),
        ({"email": "not-an-email"}, "orders.3.email"),
        ({"placed_at": "2026-03-01T10:00:00"}, "orders.3.placed_at"),
        ({"placed_at": "0001-01-01T00:00:00+05:00"}, "orders.3.placed_at"),
        ({"placed_at": "1969-12-31T23:59:59Z"}, "orders.3.placed_at"),
        ({"order_id": ""}, "orders.3.order_id"),
        ({"order_id": "x" * 65}, "orders.3.order_id"),
        ({"order_id": "ES 1"}, "orders.3.order_id"),
        ({"items": []}, "orders.3.items"),
        ({"items": [line(quantity=0)]}, "orders.3.items.0.quantity"),
        ({"items": [line(unit_price="-0.01")]}, "orders.3.items.0.unit_price"),
        ({"items": [line(quantity=1.5)]}, "orders.3.items.0.quantity"),
        ({"colour": "red"}, "orders.3.colour"),
    ],
)
def test_a_malformed_batch_is_422_naming_the_field_and_records_nothing(
    api: Api, store_id: str, changes: dict[str, Any], field: str
) -> None:
    batch = [order(f"ES-{n}") for n in range(3)] + [{**order("ES-3"), **changes}]

    answer = api.call("POST", "/orders", {"orders": batch})

    assert answer.status == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.body["errors"]]
    assert item(f"STORE#{store_id}#ORDER#ES-0", "ORDER#ES-0") is None
    assert api.call("GET", "/customers").body["items"] == []


def test_a_batch_holds_one_to_a_hundred_orders(api: Api) -> None:
    too_many = api.call("POST", "/orders", {"orders": [order(f"ES-{n}") for n in range(101)]})
    empty = api.call("POST", "/orders", {"orders": []})

    assert too_many.status == empty.status == 422
    assert [e["field"] for e in too_many.body["errors"]] == ["orders"]
    assert api.call("POST", "/orders", raw=b"[1]").status == 422
    assert api.call("POST", "/orders", raw=b"{nope").status == 400


def test_a_full_batch_of_large_orders_fits(api: Api, store_id: str) -> None:
    lines = [line(product_id=f"p-{n}", sku=f"SKU-{n}") for n in range(20)]
    batch = [order(f"ES-{n}", f"c{n % 7}@example.es", items=lines) for n in range(100)]

    results = record(api, *batch)

    assert [r["result"] for r in results] == ["created"] * 100
    assert len({r["customer_id"] for r in results}) == 7


def test_an_order_too_large_to_store_is_refused_alone(api: Api, store_id: str) -> None:
    wide = "Ñ" * 200  # two bytes a letter
    lines = [line(product_id=f"p-{n}", name=wide, brand=wide, category=wide) for n in range(250)]

    results = record(api, order("ES-1", items=lines), order("ES-2"))

    assert [(r["result"], r["field"]) for r in results] == [("refused", "items"), ("created", None)]
    assert item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1") is None


def test_money_stays_exact(api: Api, store_id: str) -> None:
    results = record(
        api,
        order("ES-1", total="0.10"),
        order("ES-2", total=0.2),
        order("ES-3", total="12345678901234.56"),
    )

    spent = aggregates(store_id, results[0]["customer_id"])[1]
    assert spent == Decimal("12345678901234.86")
    orders = api.call("GET", f"/customers/{results[0]['customer_id']}/orders").body["items"]
    assert sorted(o["total"] for o in orders) == ["0.10", "0.20", "12345678901234.56"]


# GET /customers/{id}/orders


def test_a_customers_orders_come_newest_first_page_by_page(api: Api, store_id: str) -> None:
    results = record(api, *[order(f"ES-{n}", placed_at=at(n)) for n in (3, 0, 4, 1, 2)])
    customer_id = results[0]["customer_id"]
    record(api, order("OTHER-1", "someone.else@example.es"))

    seen, cursor, pages = [], None, 0
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        answer = api.call("GET", f"/customers/{customer_id}/orders?limit=2{suffix}")
        assert answer.status == 200, answer.body
        seen += [o["order_id"] for o in answer.body["items"]]
        pages += 1
        cursor = answer.body["next_cursor"]
        if cursor is None:
            break

    assert seen == ["ES-4", "ES-3", "ES-2", "ES-1", "ES-0"]
    assert pages == 3
    first = api.call("GET", f"/customers/{customer_id}/orders?limit=1").body["items"][0]
    assert first == {
        "order_id": "ES-4",
        "customer_id": customer_id,
        "email": "lucia.perez@example.es",
        "placed_at": "2026-03-05T10:00:00Z",
        "currency": "EUR",
        "total": "69.95",
        "status": "placed",
        "refunded_total": "0.00",
        "cancelled_at": None,
        "items": [{**line(), "quantity": 1}],
        "kind": "product",
        "booking": None,
        "ticket": None,
    }


def test_orders_of_an_unknown_or_foreign_customer_are_404(
    api: Api, store_id: str, customers_client: Any
) -> None:
    (result,) = record(api, order("ES-1"))
    intruder = Api(customers_client, {"authorization": f"Bearer {token_for('store-intruder')}"})

    assert api.call("GET", "/customers/01JD3Z6Q4W0W8Y5J3K2M1N0PQR/orders").status == 404
    assert api.call("GET", "/customers/nope/orders").status == 404
    answer = intruder.call("GET", f"/customers/{result['customer_id']}/orders")
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_cursor_belongs_to_its_customer(api: Api, store_id: str) -> None:
    mine = record(api, order("ES-1"), order("ES-2", placed_at=at(1)))[0]["customer_id"]
    other = record(api, order("ES-3", "other@example.es"))[0]["customer_id"]
    cursor = api.call("GET", f"/customers/{mine}/orders?limit=1").body["next_cursor"]

    answer = api.call("GET", f"/customers/{other}/orders?cursor={cursor}")

    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["cursor"]
    assert api.call("GET", f"/customers/{mine}/orders?limit=0").status == 422


# order.placed / order.cancelled / order.refunded on the inbox


def test_a_placed_event_records_the_order_once(api: Api, store_id: str, deliver: Any) -> None:
    event_id = uuid.uuid4()
    deliver("order.placed", placed("ES-1", total="12.34"), event_id=event_id)
    deliver("order.placed", placed("ES-1", total="12.34"), event_id=event_id)
    deliver("order.placed", placed("ES-1", total="12.34"))

    stored = item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1")
    assert stored is not None
    assert aggregates(store_id, stored["customer_id"])[:2] == (1, Decimal("12.34"))


def test_cancelling_leaves_the_aggregates_and_moves_first_and_last(
    api: Api, store_id: str, deliver: Any
) -> None:
    results = record(
        api,
        order("ES-1", placed_at=at(1), total="10"),
        order("ES-2", placed_at=at(2), total="20"),
        order("ES-3", placed_at=at(3), total="30"),
    )
    customer_id = results[0]["customer_id"]

    deliver("order.cancelled", OrderCancelledV1(order_id="ES-3", cancelled_at=T0 + timedelta(9)))
    assert aggregates(store_id, customer_id) == (2, Decimal(30), stamp(1), stamp(2))
    deliver("order.cancelled", OrderCancelledV1(order_id="ES-3", cancelled_at=T0 + timedelta(9)))
    assert aggregates(store_id, customer_id) == (2, Decimal(30), stamp(1), stamp(2))

    deliver("order.cancelled", OrderCancelledV1(order_id="ES-1", cancelled_at=T0 + timedelta(9)))
    assert aggregates(store_id, customer_id) == (1, Decimal(20), stamp(2), stamp(2))

    deliver("order.cancelled", OrderCancelledV1(order_id="ES-2", cancelled_at=T0 + timedelta(9)))
    assert aggregates(store_id, customer_id) == (0, Decimal(0), None, None)
    assert customer(store_id, customer_id)["last_order_key"] == "0"
    statuses = [
        o["status"] for o in api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    ]
    assert statuses == ["cancelled"] * 3
    kinds = timeline_kinds(store_id, customer_id)
    assert sorted(kinds) == ["order_cancelled"] * 3 + ["purchased"] * 3


def test_a_cancellation_before_the_order_makes_it_arrive_cancelled(
    api: Api, store_id: str, deliver: Any
) -> None:
    deliver("order.cancelled", OrderCancelledV1(order_id="ES-1", cancelled_at=T0 + timedelta(1)))
    assert item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1") is not None  # waiting for its order

    (result,) = record(api, order("ES-1"))
    deliver("order.placed", placed("ES-1"))

    customer_id = result["customer_id"]
    assert result["result"] == "created"
    assert aggregates(store_id, customer_id) == (0, Decimal(0), None, None)
    (listed,) = api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    assert listed["status"] == "cancelled"
    assert listed["cancelled_at"] == "2026-03-02T10:00:00Z"
    assert sorted(timeline_kinds(store_id, customer_id)) == ["order_cancelled", "purchased"]


def test_refunds_count_once_and_never_below_zero(api: Api, store_id: str, deliver: Any) -> None:
    (result,) = record(api, order("ES-1", total="100.00"))
    customer_id = result["customer_id"]

    def refunded(refund_id: str, amount: str | None) -> OrderRefundedV1:
        value = None if amount is None else Decimal(amount)
        return OrderRefundedV1(
            order_id="ES-1", refund_id=refund_id, amount=value, refunded_at=T0 + timedelta(2)
        )

    deliver("order.refunded", refunded("RF-1", "30.50"))
    deliver("order.refunded", refunded("RF-1", "30.50"))
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("69.50"))

    deliver("order.refunded", refunded("RF-2", None))  # the rest
    deliver("order.refunded", refunded("RF-3", "5"))  # nothing left to refund
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal(0))
    (listed,) = api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    assert (listed["status"], listed["refunded_total"]) == ("refunded", "100.00")

    deliver("order.cancelled", OrderCancelledV1(order_id="ES-1", cancelled_at=T0 + timedelta(3)))
    assert aggregates(store_id, customer_id) == (0, Decimal(0), None, None)
    # RF-3 took nothing off; its entry (amount 0) is still the record of it.
    kinds = timeline_kinds(store_id, customer_id)
    assert sorted(kinds) == ["order_cancelled", *["order_refunded"] * 3, "purchased"]


def test_a_refund_before_the_order_is_taken_off_when_it_arrives(
    api: Api, store_id: str, deliver: Any
) -> None:
    early = OrderRefundedV1(
        order_id="ES-1", refund_id="RF-1", amount=Decimal("9.95"), refunded_at=T0
    )
    deliver("order.refunded", early)
    deliver("order.refunded", early)

    deliver("order.placed", placed("ES-1"))

    stored = item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1")
    assert stored is not None
    assert (stored["status"], stored["refunded_total"]) == ("refunded", Decimal("9.95"))
    assert aggregates(store_id, stored["customer_id"])[:2] == (1, Decimal("60.00"))


def test_an_event_with_a_bad_email_is_dropped_without_logging_it(
    api: Api, store_id: str, deliver: Any
) -> None:
    bad = OrderPlacedV1.model_validate(order("ES-1", "giulia.romano@@example.it"))
    with captured_logs() as log:
        deliver("order.placed", bad)

    assert item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1") is None
    assert "event refused" in log.getvalue()
    assert "giulia" not in log.getvalue()


def test_racing_writers_count_every_order_once(apps: dict[str, Any], store_id: str) -> None:
    """Batches for one new guest, with overlapping order ids, and a cancellation, all at once."""
    usecases = sys.modules["chalicelib.customers.orders.usecases"]
    model = sys.modules["chalicelib.customers.orders.models"]

    def batch(ids: list[int]) -> Any:
        orders = [
            model.OrderIn.model_validate(order(f"ES-{n}", placed_at=at(n), total=f"{n}.50"))
            for n in ids
        ]
        return lambda: usecases.record_orders(store_id, [o.to_order() for o in orders])

    calls = [batch([1, 2, 3]), batch([3, 4, 5]), batch([5, 6, 1]), batch([7, 2, 6])]
    calls.append(lambda: usecases.cancel_order(store_id, "ES-7", T0 + timedelta(30)))
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        outcomes = list(pool.map(lambda call: call(), calls))

    results = [r for batch_results in outcomes[:-1] for r in batch_results]
    created = sorted(r.id for r in results if r.result == "created")
    assert created == [f"ES-{n}" for n in range(1, 8)]
    assert {r.customer_id for r in results} == {results[0].customer_id}
    assert aggregates(store_id, results[0].customer_id) == (
        6,
        sum(Decimal(f"{n}.50") for n in range(1, 7)),
        stamp(1),
        stamp(6),
    )


# Reviews


def test_a_review_counts_once_for_the_customer_of_its_email(api: Api, store_id: str) -> None:
    review = {
        "review_id": "RV-1",
        "email": "Nuria@Example.es",
        "product_id": "p-7781",
        "rating": 4,
        "at": at(0),
    }

    first = api.call("POST", "/reviews", review)
    again = api.call("POST", "/reviews", {**review, "rating": 1})

    assert first.status == again.status == 200
    assert first.body["result"] == "created"
    assert again.body == {**first.body, "result": "already_recorded"}
    stored = customer(store_id, first.body["customer_id"])
    assert (stored["rating_count"], stored["rating_sum"]) == (1, 4)
    assert stored["email"] == "nuria@example.es"
    assert timeline_kinds(store_id, first.body["customer_id"]) == ["review_posted"]


def test_a_review_event_counts_for_the_customer_it_names(
    api: Api, store_id: str, deliver: Any
) -> None:
    customer_id = new_customer(api, "pablo@example.es")
    for n, rating in enumerate((5, 3)):
        data = ReviewCreatedV1(
            review_id=f"RV-{n}", customer_id=customer_id, product_id="p-1", rating=rating, at=T0
        )
        deliver("review.created", data)
        deliver("review.created", data)

    stored = customer(store_id, customer_id)
    assert (stored["rating_count"], stored["rating_sum"]) == (2, 8)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_id": "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"}, "customer_id"),
        ({"email": None}, "customer_id"),
        ({"rating": 6}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"at": "yesterday"}, "at"),
    ],
)
def test_a_bad_review_is_422_naming_the_field(
    api: Api, store_id: str, changes: dict[str, Any], field: str
) -> None:
    review = {
        "review_id": "RV-1",
        "email": "nuria@example.es",
        "product_id": "p-7781",
        "rating": 4,
        "at": at(0),
    }

    answer = api.call("POST", "/reviews", {**review, **changes})

    assert answer.status == 422
    assert field in [e["field"] for e in answer.body["errors"]]
    assert item(f"STORE#{store_id}#REVIEW#RV-1", "REVIEW#RV-1") is None


# Logs


@contextlib.contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """What the customers service logs meanwhile (Powertools bound its own stdout handler)."""
    logger = logging.getLogger("customers")
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    listener.setFormatter(logger.handlers[0].formatter)
    saved = logger.handlers
    logger.handlers = [listener]
    try:
        yield stream
    finally:
        logger.handlers = saved


# A purchase or a review is activity


def _seen_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _profile_seen(api: Api, customer_id: str) -> tuple[str | None, str]:
    profile = api.call("GET", f"/customers/{customer_id}").body
    return profile["last_seen_at"], profile["status"]


def _ids(api: Api, query: str) -> set[str]:
    answer = api.call("GET", f"/customers?{query}&limit=200")
    assert answer.status == 200, answer.body
    return {c["id"] for c in answer.body["items"]}


def test_an_order_moves_last_seen_forward_and_makes_the_customer_active(
    api: Api, store_id: str, deliver: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday, last_week = now - timedelta(days=1), now - timedelta(days=7)
    (first,) = record(api, order("ES-1", placed_at=yesterday.isoformat()))
    customer_id = first["customer_id"]

    assert _profile_seen(api, customer_id) == (f"{yesterday.isoformat()[:19]}Z", "active")
    stored = customer(store_id, customer_id)
    assert stored["last_seen_at"] == stored["last_seen_key"] == _seen_stamp(yesterday)
    assert customer_id in _ids(api, "status=active")
    assert customer_id in _ids(api, "sort=-last_seen_at&status=active")
    assert customer_id not in _ids(api, "status=inactive")

    # An older order arriving late (HTTP or bus) never moves it back.
    record(api, order("ES-0", placed_at=last_week.isoformat()))
    deliver("order.placed", placed("ES-00", placed_at=last_week.isoformat()))
    assert customer(store_id, customer_id)["last_seen_at"] == _seen_stamp(yesterday)
    assert aggregates(store_id, customer_id)[0] == 3

    # A newer one from the bus moves it; one dated ahead of the clock moves it to now at most.
    deliver("order.placed", placed("ES-2", placed_at=(now - timedelta(hours=1)).isoformat()))
    assert customer(store_id, customer_id)["last_seen_at"] == _seen_stamp(now - timedelta(hours=1))
    record(api, order("ES-3", placed_at=(now + timedelta(days=30)).isoformat()))
    seen = customer(store_id, customer_id)["last_seen_at"]
    assert _seen_stamp(now) <= seen <= _seen_stamp(datetime.now(UTC))


def test_an_order_cancelled_before_it_arrives_is_still_activity(
    api: Api, store_id: str, deliver: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    deliver("order.cancelled", OrderCancelledV1(order_id="ES-9", cancelled_at=now))
    deliver("order.placed", placed("ES-9", placed_at=(now - timedelta(hours=2)).isoformat()))

    (result,) = record(api, order("ES-9"))
    customer_id = result["customer_id"]
    assert aggregates(store_id, customer_id)[0] == 0
    assert customer(store_id, customer_id)["last_seen_at"] == _seen_stamp(now - timedelta(hours=2))


def test_a_review_moves_last_seen_forward(api: Api, store_id: str, deliver: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ana = new_customer(api, "ana@example.com")
    assert _profile_seen(api, ana) == (None, "inactive")
    review = {"review_id": "r-1", "email": "ana@example.com", "product_id": "p-1", "rating": 5}

    answer = api.call("POST", "/reviews", {**review, "at": (now - timedelta(days=2)).isoformat()})

    assert answer.status == 200, answer.body
    assert customer(store_id, ana)["last_seen_at"] == _seen_stamp(now - timedelta(days=2))
    assert _profile_seen(api, ana)[1] == "active"
    later = ReviewCreatedV1(
        review_id="r-2", customer_id=ana, product_id="p-2", rating=4, at=now - timedelta(days=1)
    )
    deliver("review.created", later)
    assert customer(store_id, ana)["last_seen_key"] == _seen_stamp(now - timedelta(days=1))
    older = {**review, "review_id": "r-0", "at": (now - timedelta(days=9)).isoformat()}
    assert api.call("POST", "/reviews", older).status == 200
    assert customer(store_id, ana)["last_seen_at"] == _seen_stamp(now - timedelta(days=1))
    assert customer(store_id, ana)["rating_count"] == 3


# Cancellations and refunds through the HTTP API


def _placed_order(api: Api, order_id: str, total: str = "100.00") -> str:
    (result,) = record(api, order(order_id, total=total, items=[line(unit_price=total)]))
    assert result["result"] == "created", result
    return str(result["customer_id"])


def test_an_order_is_cancelled_over_http_as_from_the_bus(api: Api, store_id: str) -> None:
    customer_id = _placed_order(api, "ES-1")
    body = {"reason": "Out of stock", "cancelled_at": at(1)}

    answer = api.call("POST", "/orders/ES-1/cancellation", body)

    assert answer.status == 201, answer.body
    assert answer.body == {
        "order_id": "ES-1",
        "status": "cancelled",
        "cancelled_at": answer.body["cancelled_at"],
        "reason": "Out of stock",
    }
    assert aggregates(store_id, customer_id) == (0, Decimal(0), None, None)
    assert "order_cancelled" in timeline_kinds(store_id, customer_id)
    entries = api.call("GET", f"/customers/{customer_id}/timeline?kind=order_cancelled").body
    assert entries["items"][0]["data"] == {"order_id": "ES-1", "reason": "Out of stock"}
    listed = api.call("GET", f"/customers/{customer_id}/orders").body["items"][0]
    assert listed["status"] == "cancelled"

    again = api.call("POST", "/orders/ES-1/cancellation", body)
    assert (again.status, again.body) == (201, answer.body)
    other = api.call("POST", "/orders/ES-1/cancellation", {"reason": "Changed her mind"})
    assert other.status == 422
    assert [e["field"] for e in other.body["errors"]] == ["reason"]
    assert aggregates(store_id, customer_id) == (0, Decimal(0), None, None)


def test_cancelling_or_refunding_an_unknown_order_is_404(
    api: Api, customers_client: Any, deliver: Any
) -> None:
    # Heard of through an early cancellation only: not an order of this store yet.
    deliver("order.cancelled", OrderCancelledV1(order_id="ES-7", cancelled_at=T0))
    _placed_order(api, "ES-1")
    foreign = Api(customers_client, {"authorization": f"Bearer {token_for('another-store')}"})

    odd = ("x" * 2000, "ES%201", "%C3%A9")  # never an order id: not even looked up
    cases = [(api, "ES-404"), (api, "ES-7"), (foreign, "ES-1"), *((api, o) for o in odd)]
    for caller, order_id in cases:
        cancel = caller.call("POST", f"/orders/{order_id}/cancellation", {})
        refund = caller.call(
            "POST", f"/orders/{order_id}/refunds", {"refund_id": "R-1", "amount": "1.00"}
        )
        for answer in (cancel, refund):
            assert answer.status == 404, answer.body
            assert answer.headers["content-type"] == "application/problem+json"


def test_partial_refunds_over_http_never_exceed_the_total(api: Api, store_id: str) -> None:
    customer_id = _placed_order(api, "ES-1", "100.00")
    first = {"refund_id": "R-1", "amount": "30.00", "reason": "Damaged box"}

    answer = api.call("POST", "/orders/ES-1/refunds", first)

    assert answer.status == 201, answer.body
    assert answer.body["order_id"] == "ES-1"
    assert (answer.body["refund_id"], answer.body["currency"]) == ("R-1", "EUR")
    assert Decimal(answer.body["amount"]) == Decimal("30")
    assert answer.body["reason"] == "Damaged box"
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("70"))

    # The same refund again answers as the first and takes nothing more off. (The amount's
    # scale is compared as a number: one money representation is the Money type's concern.)
    again = api.call("POST", "/orders/ES-1/refunds", first)
    assert again.status == 201
    assert {**again.body, "amount": Decimal(again.body["amount"])} == {
        **answer.body,
        "amount": Decimal(answer.body["amount"]),
    }
    # The same id with another body is refused.
    for changed in ({**first, "amount": "31.00"}, {**first, "reason": "Late"}):
        refused = api.call("POST", "/orders/ES-1/refunds", changed)
        assert refused.status == 422, refused.body
        assert [e["field"] for e in refused.body["errors"]] == ["refund_id"]
    # More than is left: 422 naming the amount, saying what is left; nothing changes.
    too_much = api.call("POST", "/orders/ES-1/refunds", {"refund_id": "R-2", "amount": "70.01"})
    assert too_much.status == 422, too_much.body
    assert [e["field"] for e in too_much.body["errors"]] == ["amount"]
    assert "70" in too_much.body["errors"][0]["reason"]
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("70"))
    # What is left, exactly, is fine; then nothing is.
    rest = api.call("POST", "/orders/ES-1/refunds", {"refund_id": "R-2", "amount": "70.00"})
    assert rest.status == 201, rest.body
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("0"))
    more = api.call("POST", "/orders/ES-1/refunds", {"refund_id": "R-3", "amount": "0.01"})
    assert more.status == 422
    assert timeline_kinds(store_id, customer_id).count("order_refunded") == 2
    stored = item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1")
    assert stored is not None and stored["status"] == "refunded"
    assert stored["refunded_total"] == Decimal("100")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1.00"}, "refund_id"),
        ({"refund_id": "R-1"}, "amount"),
        ({"refund_id": "R-1", "amount": "0"}, "amount"),
        ({"refund_id": "R-1", "amount": "-1"}, "amount"),
        ({"refund_id": "R-1", "amount": "1.00", "reason": ""}, "reason"),
        ({"refund_id": "R-1", "amount": "1.00", "refunded_at": "yesterday"}, "refunded_at"),
        ({"refund_id": "R-1", "amount": "1.00", "extra": 1}, "extra"),
    ],
)
def test_a_bad_refund_is_422_naming_the_field(
    api: Api, store_id: str, body: dict[str, Any], field: str
) -> None:
    customer_id = _placed_order(api, "ES-1")

    answer = api.call("POST", "/orders/ES-1/refunds", body)

    assert answer.status == 422, answer.body
    assert field in [e["field"] for e in answer.body["errors"]]
    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("100"))


def test_the_http_and_bus_paths_share_refund_ids(api: Api, store_id: str, deliver: Any) -> None:
    customer_id = _placed_order(api, "ES-1", "100.00")
    deliver(
        "order.refunded",
        OrderRefundedV1(order_id="ES-1", refund_id="R-1", amount=Decimal("40"), refunded_at=T0),
    )

    answer = api.call("POST", "/orders/ES-1/refunds", {"refund_id": "R-2", "amount": "60.00"})
    assert answer.status == 201, answer.body
    deliver(
        "order.refunded",
        OrderRefundedV1(order_id="ES-1", refund_id="R-2", amount=Decimal("60"), refunded_at=T0),
    )

    assert aggregates(store_id, customer_id)[:2] == (1, Decimal("0"))
    assert timeline_kinds(store_id, customer_id).count("order_refunded") == 2


def test_only_what_the_api_recorded_is_published(api: Api, apps: Any, store_id: str) -> None:
    _placed_order(api, "ES-1", "100.00")
    _placed_order(api, "ES-2", "50.00")
    deliver_to_inbox(store_id, "order.placed", placed("ES-3"))  # from the platform: on the bus
    deliver_to_inbox(
        store_id,
        "order.refunded",
        OrderRefundedV1(order_id="ES-2", refund_id="R-bus", amount=Decimal("5"), refunded_at=T0),
    )
    deliver_to_inbox(
        store_id, "order.cancelled", OrderCancelledV1(order_id="ES-2", cancelled_at=T0)
    )
    refund = {"refund_id": "R-1", "amount": "10.00", "reason": "Late delivery"}
    assert api.call("POST", "/orders/ES-1/refunds", refund).status == 201
    assert api.call("POST", "/orders/ES-1/refunds", refund).status == 201  # a retry: no event
    assert api.call("POST", "/orders/ES-1/cancellation", {"reason": "Fraud"}).status == 201

    publishing = sys.modules["chalicelib.customers.publishing"]
    events = [e for e in map(publishing.event_for, stream_records(store_id)) if e]
    orders = [e for e in events if e.event_type.startswith("order.")]

    assert sorted(e.event_type for e in orders) == [
        "order.cancelled",
        "order.placed",
        "order.placed",
        "order.refunded",
    ]
    placed_events = [e.entry("clientela") for e in orders if e.event_type == "order.placed"]
    assert sorted(json.loads(e["Detail"])["data"]["order_id"] for e in placed_events) == [
        "ES-1",
        "ES-2",
    ]
    first = json.loads(placed_events[0]["Detail"])["data"]
    assert first["total"] in ("100.00", "50.00")
    assert first["items"][0]["unit_price"] == first["total"]
    refunded, cancelled = (
        e.entry("clientela")
        for e in orders
        if e.event_type in ("order.refunded", "order.cancelled")
    )
    sources = {e.entry("clientela")["Source"] for e in orders}
    assert sources == {"clientela.customers"}
    detail = json.loads(refunded["Detail"])["data"]
    assert (detail["order_id"], detail["refund_id"], detail["reason"]) == (
        "ES-1",
        "R-1",
        "Late delivery",
    )
    assert Decimal(detail["amount"]) == Decimal("10")
    assert json.loads(cancelled["Detail"])["data"]["reason"] == "Fraud"


# Bookings and event tickets are orders too


def booking(order_id: str, starts: datetime, hours: int = 1, **changes: Any) -> dict[str, Any]:
    details = {
        "service_id": "svc-corte",
        "service_name": "Corte de pelo",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
    }
    return order(
        order_id,
        kind="booking",
        booking=details,
        total="25.00",
        items=[line(product_id="svc-corte", sku="CORTE", name="Corte", unit_price="25.00")],
        **changes,
    )


def ticket(order_id: str, event_at: datetime, **changes: Any) -> dict[str, Any]:
    return order(
        order_id,
        kind="ticket",
        ticket={
            "event_id": "ev-jazz",
            "event_name": "Noche de jazz",
            "event_at": event_at.isoformat(),
        },
        total="40.00",
        items=[line(product_id="ev-jazz", sku="JAZZ-A", name="Entrada", unit_price="40.00")],
        **changes,
    )


def _listed(api: Api, customer_id: str, query: str) -> list[str]:
    ids: list[str] = []
    cursor = ""
    while True:
        answer = api.call("GET", f"/customers/{customer_id}/orders?limit=2&{query}{cursor}")
        assert answer.status == 200, answer.body
        ids += [o["order_id"] for o in answer.body["items"]]
        if answer.body["next_cursor"] is None:
            return ids
        cursor = f"&cursor={answer.body['next_cursor']}"


def test_bookings_and_tickets_are_orders_with_a_schedule(api: Api, store_id: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    results = record(
        api,
        order("P-1", placed_at=at(0)),
        booking("B-past", now - timedelta(days=3), placed_at=at(1)),
        booking("B-soon", now + timedelta(days=1), placed_at=at(3)),
        booking("B-later", now + timedelta(days=9), placed_at=at(2)),
        booking("B-next", now + timedelta(hours=2), placed_at=at(4)),
        booking("B-cancelled", now + timedelta(hours=1), placed_at=at(5)),
        ticket("T-1", now + timedelta(days=20), placed_at=at(6)),
    )
    assert [r["result"] for r in results] == ["created"] * 7
    customer_id = results[0]["customer_id"]
    assert api.call("POST", "/orders/B-cancelled/cancellation", {}).status == 201

    # Every kind counts alike.
    assert aggregates(store_id, customer_id)[:2] == (6, Decimal("69.95") + 4 * 25 + 40)
    listed = api.call("GET", f"/customers/{customer_id}/orders?kind=booking&limit=1").body
    first = listed["items"][0]
    assert (first["order_id"], first["kind"], first["ticket"]) == ("B-cancelled", "booking", None)
    assert first["booking"]["service_name"] == "Corte de pelo"
    assert _listed(api, customer_id, "kind=product") == ["P-1"]
    assert _listed(api, customer_id, "kind=ticket") == ["T-1"]
    assert _listed(api, customer_id, "kind=booking") == [
        "B-cancelled", "B-next", "B-soon", "B-later", "B-past"
    ]  # fmt: skip
    assert len(_listed(api, customer_id, "")) == 7
    # The schedule: soonest first to come, latest first past; cancelled ones are off it.
    assert _listed(api, customer_id, "kind=booking&when=upcoming") == [
        "B-next",
        "B-soon",
        "B-later",
    ]
    assert _listed(api, customer_id, "kind=booking&when=past") == ["B-past"]
    assert _listed(api, customer_id, "kind=ticket&when=upcoming") == ["T-1"]

    profile = api.call("GET", f"/customers/{customer_id}").body
    assert profile["bookings"]["upcoming"] == 3
    assert profile["bookings"]["next"]["order_id"] == "B-next"
    assert profile["bookings"]["next"]["service_id"] == "svc-corte"
    entries = api.call("GET", f"/customers/{customer_id}/timeline?kind=purchased&limit=100").body
    kinds = {e["data"]["order_id"]: e["data"].get("kind") for e in entries["items"]}
    assert (kinds["P-1"], kinds["B-next"], kinds["T-1"]) == (None, "booking", "ticket")


def test_a_cursor_belongs_to_its_kind_and_schedule(api: Api) -> None:
    now = datetime.now(UTC)
    (result, *_) = record(api, *(booking(f"B-{i}", now + timedelta(days=i + 1)) for i in range(3)))
    path = f"/customers/{result['customer_id']}/orders"
    page = api.call("GET", f"{path}?kind=booking&when=upcoming&limit=1").body
    assert page["next_cursor"] is not None

    answer = api.call("GET", f"{path}?kind=booking&when=past&limit=1&cursor={page['next_cursor']}")

    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["cursor"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "booking"}, "orders.0.booking"),
        ({"kind": "ticket"}, "orders.0.ticket"),
        ({"kind": "service"}, "orders.0.kind"),
        (
            {"booking": {"service_id": "s", "starts_at": at(1), "ends_at": at(2)}},
            "orders.0.booking",
        ),
        ({"ticket": {"event_id": "e", "event_at": at(1)}}, "orders.0.ticket"),
        (
            {
                "kind": "booking",
                "booking": {"service_id": "s", "starts_at": at(2), "ends_at": at(2)},
            },
            "orders.0.booking.ends_at",
        ),
        (
            {"kind": "booking", "booking": {"starts_at": at(1), "ends_at": at(2)}},
            "orders.0.booking.service_id",
        ),
        ({"kind": "ticket", "ticket": {"event_id": "e"}}, "orders.0.ticket.event_at"),
        ({"kind": "ticket", "ticket": {"event_at": at(1)}}, "orders.0.ticket.event_id"),
        (
            {
                "kind": "ticket",
                "ticket": {"event_id": "e", "event_at": at(1)},
                "booking": {"service_id": "s", "starts_at": at(1), "ends_at": at(2)},
            },
            "orders.0.booking",
        ),
    ],
)
def test_an_order_with_details_of_another_kind_is_422_naming_them(
    api: Api, store_id: str, changes: dict[str, Any], field: str
) -> None:
    answer = api.call("POST", "/orders", {"orders": [order("ES-1", **changes)]})

    assert answer.status == 422, answer.body
    assert field in [e["field"] for e in answer.body["errors"]]
    assert item(f"STORE#{store_id}#ORDER#ES-1", "ORDER#ES-1") is None


@pytest.mark.parametrize(
    ("query", "field"),
    [("when=upcoming", "when"), ("kind=product&when=past", "when"), ("kind=gift", "kind")],
)
def test_a_bad_orders_query_names_the_parameter(api: Api, query: str, field: str) -> None:
    customer_id = new_customer(api, "ana@example.com")

    answer = api.call("GET", f"/customers/{customer_id}/orders?{query}")

    assert answer.status in (400, 422), answer.body
    assert field in [e["field"] for e in answer.body["errors"]]


def test_a_booking_event_is_recorded_and_a_malformed_one_dropped(
    api: Api, store_id: str, deliver: Any
) -> None:
    now = datetime.now(UTC)
    deliver("order.placed", OrderPlacedV1.model_validate(booking("B-1", now + timedelta(days=2))))
    deliver("order.placed", OrderPlacedV1.model_validate(ticket("T-1", now + timedelta(days=5))))
    no_details = {**booking("B-2", now), "booking": None}
    with captured_logs() as logs:
        deliver("order.placed", OrderPlacedV1.model_validate(no_details))

    stored = item(f"STORE#{store_id}#ORDER#B-1", "ORDER#B-1")
    assert stored is not None
    assert stored["kind"] == "booking"
    assert stored["booking"]["service_id"] == "svc-corte"
    stored_ticket = item(f"STORE#{store_id}#ORDER#T-1", "ORDER#T-1")
    assert stored_ticket is not None
    assert stored_ticket["ticket"]["event_name"] == "Noche de jazz"
    assert item(f"STORE#{store_id}#ORDER#B-2", "ORDER#B-2") is None
    assert '"field":"booking"' in logs.getvalue()
    customer_id = stored["customer_id"]
    assert api.call("GET", f"/customers/{customer_id}").body["bookings"]["upcoming"] == 1
