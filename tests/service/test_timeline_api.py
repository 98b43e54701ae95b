"""A customer's timeline and the store's activity feed, in-process against moto.

Entries arrive three ways: events on the bus (through the inbox), `POST /activity`, and the table
stream (`record_customer_history`). Each test asserts what is stored and what the API answers.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from pydantic import BaseModel

from clientela.events import OutgoingEvent
from clientela_events.automation import EmailClickedV1, EmailSentV1, MessageRepliedV1
from clientela_events.credits import CreditGrantedV1, CreditRevertedV1, CreditSpentV1
from clientela_events.storefront import CartUpdatedV1, ProductViewedV1
from clientela_local.lambda_context import new_context
from tests.conftest import token_for
from tests.service.conftest import Api
from tests.service.test_customer_events import stream_records

TABLE = "clientela-customers"
NOW = datetime.now(UTC).replace(microsecond=0)
_serializer = TypeSerializer()


# Helpers


def _module(name: str) -> Any:
    return sys.modules[name]


@pytest.fixture
def handle(apps: dict[str, Any]) -> Any:
    """Delivers one EventBridge event to the customers inbox, as the queue consumer does."""
    inbox = _module("chalicelib.customers.inbox")

    def run(event: dict[str, Any]) -> None:
        inbox.handle_event(event)

    return run


def event(
    store_id: str,
    event_type: str,
    data: BaseModel,
    *,
    at: datetime = NOW,
    event_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The EventBridge event a publisher's contract event arrives as."""
    entry = OutgoingEvent(event_type, 1, event_id or uuid.uuid4(), store_id, at, data).entry(
        "clientela"
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "time": at.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def new_customer(api: Api, email: str | None = None) -> str:
    answer = api.call("POST", "/customers", {"email": email or f"c{uuid.uuid4().hex[:8]}@ex.com"})
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def stored_entries(store_id: str, customer_id: str) -> list[dict[str, Any]]:
    """Every timeline item in the customer's partition, as DynamoDB holds it."""
    response = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :timeline)",
        ExpressionAttributeValues={
            ":pk": {"S": f"STORE#{store_id}#CUSTOMER#{customer_id}"},
            ":timeline": {"S": "T#"},
        },
        ConsistentRead=True,
    )
    return list(response["Items"])


def customer_item(store_id: str, customer_id: str) -> dict[str, Any]:
    return dict(
        boto3.client("dynamodb").get_item(
            TableName=TABLE,
            Key={
                "pk": {"S": f"STORE#{store_id}#CUSTOMER#{customer_id}"},
                "sk": {"S": f"CUSTOMER#{customer_id}"},
            },
            ConsistentRead=True,
        )["Item"]
    )


def timeline(api: Api, customer_id: str, query: str = "") -> Any:
    answer = api.call("GET", f"/customers/{customer_id}/timeline{query}")
    assert answer.status == 200, answer.body
    return answer.body


def every_page(api: Api, customer_id: str, query: str) -> tuple[list[dict[str, Any]], int]:
    """All entries by following `next_cursor`, and how many pages it took."""
    items, pages, cursor = [], 0, None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        page = timeline(api, customer_id, f"?{query}{suffix}")
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100


def email_sent(customer_id: str, n: int = 1) -> EmailSentV1:
    return EmailSentV1(customer_id=customer_id, message_id=f"m-{n}", flow_name="Welcome series")


# GET /customers/{id}/timeline


def test_an_unknown_or_foreign_customer_has_no_timeline(api: Api, customers_client) -> None:
    mine = new_customer(api)
    intruder = Api(customers_client, {"authorization": f"Bearer {token_for('store-intruder')}"})

    assert api.call("GET", "/customers/01JD3Z6Q4W0W8Y5J3K2M1N0PQR/timeline").status == 404
    assert api.call("GET", "/customers/not-an-id/timeline").status == 404
    answer = intruder.call("GET", f"/customers/{mine}/timeline")
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert timeline(api, mine) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?kind=nope", "kind"),
        ("?kind=email_sent&kind=Purchased", "kind"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?cursor=garbage", "cursor"),
        ("?colour=red", "colour"),
    ],
)
def test_bad_parameters_are_422_naming_them(api: Api, query: str, field: str) -> None:
    customer = new_customer(api)

    answer = api.call("GET", f"/customers/{customer}/timeline{query}")

    assert answer.status == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in answer.body["errors"]]


def test_events_become_entries_newest_first(api: Api, store_id: str, handle) -> None:
    customer = new_customer(api)
    clicked = EmailClickedV1(
        customer_id=customer,
        message_id="m-1",
        url="https://shop.example/winter?token=s3cret&utm_source=mail#top",
    )
    granted = CreditGrantedV1(
        customer_id=customer,
        entry_id="cr-1",
        kind="referral",
        amount=Decimal("20.00"),
        currency="BRL",
        balance_after=Decimal("35.50"),
    )
    replied = MessageRepliedV1(
        customer_id=customer, thread_id="t-1", message_id="m-9", channel="whatsapp"
    )
    handle(event(store_id, "email.sent", email_sent(customer), at=NOW - timedelta(hours=4)))
    handle(event(store_id, "email.clicked", clicked, at=NOW - timedelta(hours=3)))
    handle(event(store_id, "credit.granted", granted, at=NOW - timedelta(hours=2)))
    handle(event(store_id, "message.replied", replied, at=NOW - timedelta(hours=1)))

    items = timeline(api, customer)["items"]

    assert [i["kind"] for i in items] == [
        "message_replied",
        "credit_granted",
        "email_clicked",
        "email_sent",
    ]
    replied_entry, credit, click, sent = items
    assert replied_entry["data"] == {"thread_id": "t-1", "message_id": "m-9", "channel": "whatsapp"}
    assert credit["data"] == {
        "credit_entry_id": "cr-1",
        "credit_kind": "referral",
        "amount": "20.00",
        "currency": "BRL",
        "balance_after": "35.50",
    }
    assert click["data"]["url"] == "https://shop.example/winter"  # no tokens kept
    assert sent["data"] == {"message_id": "m-1", "flow_name": "Welcome series"}
    assert datetime.fromisoformat(sent["at"]) == NOW - timedelta(hours=4)
    assert all(i["expires_at"] is None for i in items)


def test_a_redelivered_event_is_one_entry(api: Api, store_id: str, handle) -> None:
    customer = new_customer(api)
    spent = CreditSpentV1(
        customer_id=customer,
        entry_id="cr-2",
        amount=Decimal("5.10"),
        currency="EUR",
        balance_after=Decimal("0.40"),
        order_id="ES-1",
    )
    once = event(store_id, "credit.spent", spent)

    handle(once)
    handle(once)
    handle(json.loads(json.dumps(once)))

    assert len(stored_entries(store_id, customer)) == 1
    (item,) = timeline(api, customer)["items"]
    cause = f"event/{once['detail']['metadata']['event_id']}"
    assert item["id"] == _module("chalicelib.customers.timeline.rules").entry_id(cause)


def test_a_reverted_debit_shows_as_credit_put_back(api: Api, store_id: str, handle) -> None:
    customer = new_customer(api)
    reverted = CreditRevertedV1(
        customer_id=customer,
        entry_id="cr-3",
        debit_id="db-1",
        amount=Decimal("12.5"),
        currency="BRL",
        order_id="BR-7",
        reexpired=Decimal("2"),
        balance_after=Decimal("30"),
    )

    handle(event(store_id, "credit.reverted", reverted))

    (item,) = timeline(api, customer, "?kind=credit_reverted")["items"]
    assert item["data"] == {
        "credit_entry_id": "cr-3",
        "debit_id": "db-1",
        "amount": "12.50",
        "currency": "BRL",
        "order_id": "BR-7",
        "reexpired": "2.00",
        "balance_after": "30.00",
    }


def test_events_about_unknown_customers_leave_nothing(
    api: Api, store_id: str, handle, customers_log: io.StringIO
) -> None:
    ghost = "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    deleted = new_customer(api)
    assert api.call("DELETE", f"/customers/{deleted}").status == 204
    view = ProductViewedV1(
        email="nobody.here@example.com", product_id="p-1", sku="S-1", name="Sock", at=NOW
    )

    handle(event(store_id, "email.sent", email_sent(ghost)))
    handle(event(store_id, "email.sent", email_sent(deleted)))
    handle(event(store_id, "email.sent", email_sent("not-a-clientela-id")))
    handle(event(store_id, "product.viewed", view))

    assert stored_entries(store_id, ghost) == []
    assert stored_entries(store_id, deleted) == []
    assert "nobody.here" not in customers_log.getvalue()
    assert "skipped" in customers_log.getvalue()


def test_shopping_events_find_the_customer_by_email_and_views_expire(
    api: Api, store_id: str, handle
) -> None:
    customer = new_customer(api, "Paula.Souza@Example.com.br")
    viewed = ProductViewedV1(
        email="paula.souza@example.com.br",
        product_id="p-7781",
        sku="ZAP-42",
        name="Zapatillas",
        price=Decimal("69.90"),
        currency="EUR",
        at=NOW - timedelta(minutes=5),
        device="mobile",
    )
    removed = CartUpdatedV1(
        customer_id=customer,
        product_id="p-7781",
        sku="ZAP-42",
        name="Zapatillas",
        quantity=0,
        at=NOW - timedelta(minutes=10),
    )

    handle(event(store_id, "product.viewed", viewed))
    handle(event(store_id, "cart.updated", removed))

    view_entry, cart_entry = timeline(api, customer)["items"]
    assert view_entry["kind"] == "product_viewed"
    assert view_entry["data"] == {
        "product_id": "p-7781",
        "sku": "ZAP-42",
        "name": "Zapatillas",
        "price": "69.90",
        "currency": "EUR",
        "device": "mobile",
    }
    expected_expiry = NOW - timedelta(minutes=5) + timedelta(days=90)
    assert datetime.fromisoformat(view_entry["expires_at"]) == expected_expiry
    stored = {i["kind"]["S"]: i for i in stored_entries(store_id, customer)}
    assert stored["product_viewed"]["expires_at"] == {"N": str(int(expected_expiry.timestamp()))}
    assert "expires_at" not in stored["removed_from_cart"]
    assert cart_entry["kind"] == "removed_from_cart"
    assert cart_entry["data"]["quantity"] == 0
    item = customer_item(store_id, customer)
    seen = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", ".000000Z")
    assert item["last_seen_at"] == {"S": seen}
    assert item["last_seen_key"] == {"S": seen}
    assert item["last_device"] == {"S": "mobile"}


def test_expired_entries_still_stored_are_not_listed(api: Api, store_id: str) -> None:
    customer = new_customer(api)
    timeline_store = _module("chalicelib.customers.timeline.usecases").timeline_store()
    entry = _module("chalicelib.customers.timeline.rules").new_entry(
        "test/old-view", _module("chalicelib.customers.timeline.rules").Kind.PRODUCT_VIEWED,
        NOW - timedelta(days=91), {"product_id": "p-1"},
    )  # fmt: skip
    assert timeline_store.put(store_id, customer, [entry])

    assert len(stored_entries(store_id, customer)) == 1  # TTL deletes it some time later
    assert timeline(api, customer)["items"] == []


# Kind filter and pagination


def _fill(store_id: str, customer: str, handle, kinds: str) -> None:
    """One event per letter, a minute apart, oldest first: e = email.sent, m = message.sent."""
    message_sent = _module("clientela_events.automation").MessageSentV1
    for n, letter in enumerate(kinds):
        at = NOW - timedelta(minutes=len(kinds) - n)
        if letter == "e":
            handle(event(store_id, "email.sent", email_sent(customer, n), at=at))
        else:
            data = message_sent(
                customer_id=customer, thread_id="t", message_id=f"m-{n}", channel="sms"
            )
            handle(event(store_id, "message.sent", data, at=at))


def test_pages_follow_each_other_without_gaps_or_repeats(api: Api, store_id: str, handle) -> None:
    customer = new_customer(api)
    _fill(store_id, customer, handle, "eemeeemmeeem")

    everything, pages = every_page(api, customer, "limit=5")
    messages, message_pages = every_page(api, customer, "kind=message_sent&limit=2")
    both, _ = every_page(api, customer, "kind=message_sent&kind=email_sent&limit=3")

    assert pages == 3  # 5 + 5 + 2: the last page says it is the last
    ats = [i["at"] for i in everything]
    assert len(ats) == 12
    assert ats == sorted(ats, reverse=True)
    assert len({i["id"] for i in everything}) == 12
    assert [i["data"]["message_id"] for i in messages] == ["m-11", "m-7", "m-6", "m-2"]
    assert message_pages == 2
    assert [i["id"] for i in both] == [i["id"] for i in everything]
    assert len(timeline(api, customer, "?limit=100")["items"]) == 12


def test_a_cursor_belongs_to_its_customer_and_filter(
    api: Api, store_id: str, handle, customers_client
) -> None:
    customer, other = new_customer(api), new_customer(api)
    _fill(store_id, customer, handle, "mmm")
    cursor = timeline(api, customer, "?kind=message_sent&limit=1")["next_cursor"]
    intruder = Api(customers_client, {"authorization": f"Bearer {token_for(store_id + '-x')}"})

    assert cursor
    for path in [
        f"/customers/{customer}/timeline?cursor={cursor}",
        f"/customers/{customer}/timeline?kind=email_sent&cursor={cursor}",
        f"/customers/{other}/timeline?kind=message_sent&cursor={cursor}",
    ]:
        answer = api.call("GET", path)
        assert answer.status == 422, path
        assert answer.body["errors"][0]["field"] == "cursor"
    answer = intruder.call("GET", f"/customers/{customer}/timeline?kind=message_sent&cursor={cursor}")  # fmt: skip
    assert answer.status in (422, 404)


def test_a_rare_kind_is_found_within_a_read_budget(
    api: Api, store_id: str, handle, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = new_customer(api)
    _fill(store_id, customer, handle, "m" + "e" * 9)
    store_module = _module("chalicelib.customers.timeline.store")
    monkeypatch.setattr(store_module, "READ_BUDGET", 4)
    monkeypatch.setattr(store_module, "_FILTERED_READ", 2)

    first = timeline(api, customer, "?kind=message_sent")
    found, pages = every_page(api, customer, "kind=message_sent")

    assert first["items"] == []  # budget spent on e-mails: an empty page, with a cursor
    assert first["next_cursor"]
    assert [i["kind"] for i in found] == ["message_sent"]
    assert pages == 3  # 4 + 4 + the last 2 entries read


# POST /activity


def _activity(event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "kind": "product_viewed",
        "at": (NOW - timedelta(minutes=30)).isoformat(),
        "product_id": "p-1",
        **fields,
    }


def test_activity_is_recorded_per_item(api: Api, store_id: str) -> None:
    ana = new_customer(api, "ana@example.com")
    bea = new_customer(api)
    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    batch = {
        "items": [
            _activity("v1", email="ANA@example.com", at=early.isoformat(), device="desktop"),
            _activity(
                "c1",
                customer_id=ana,
                kind="added_to_cart",
                quantity=2,
                price="19.90",
                currency="EUR",
                sku="S-1",
                name="Meias",
                at=late.isoformat(),
                device="mobile",
                ip="203.0.113.7",
            ),
            _activity("v2", customer_id=bea, kind="removed_from_cart", quantity=0),
            _activity("v3", email="stranger@example.com"),
            _activity("v4", customer_id="01JD3Z6Q4W0W8Y5J3K2M1N0PQR"),
            _activity("v5", customer_id=bea, at=(NOW - timedelta(days=95)).isoformat()),
        ]
    }

    answer = api.call("POST", "/activity", batch)

    assert answer.status == 200, answer.body
    results = answer.body["results"]
    assert [(r["event_id"], r["status"], r["customer_id"]) for r in results] == [
        ("v1", "recorded", ana),
        ("c1", "recorded", ana),
        ("v2", "recorded", bea),
        ("v3", "unknown_customer", None),
        ("v4", "unknown_customer", None),
        ("v5", "expired", bea),
    ]
    cart, view = timeline(api, ana)["items"]
    assert [cart["id"], view["id"]] == [results[1]["entry_id"], results[0]["entry_id"]]
    assert cart["data"] == {
        "product_id": "p-1",
        "sku": "S-1",
        "name": "Meias",
        "price": "19.90",
        "currency": "EUR",
        "quantity": 2,
        "device": "mobile",
    }
    assert "203.0.113.7" not in json.dumps(cart)
    assert view["expires_at"] is not None
    assert [i["kind"] for i in timeline(api, bea)["items"]] == ["removed_from_cart"]
    item = customer_item(store_id, ana)
    assert item["last_seen_at"]["S"] == late.isoformat().replace("+00:00", ".000000Z")
    assert item["last_seen_key"] == item["last_seen_at"]
    assert (item["last_device"], item["last_ip"]) == ({"S": "mobile"}, {"S": "203.0.113.7"})
    assert stored_entries(store_id, "01JD3Z6Q4W0W8Y5J3K2M1N0PQR") == []
    assert answer.body["results"] == api.call("POST", "/activity", batch).body["results"]
    assert len(stored_entries(store_id, ana)) == 2  # the retry rewrote the same entries
    assert len(stored_entries(store_id, bea)) == 1


def test_last_seen_never_moves_back(api: Api, store_id: str) -> None:
    customer = new_customer(api)
    recent = NOW - timedelta(minutes=1)
    api.call("POST", "/activity", {"items": [_activity("a", customer_id=customer, at=recent.isoformat(), device="app")]})  # fmt: skip

    answer = api.call(
        "POST",
        "/activity",
        {"items": [_activity("b", customer_id=customer, device="desktop", ip="198.51.100.1")]},
    )

    assert [r["status"] for r in answer.body["results"]] == ["recorded"]
    item = customer_item(store_id, customer)
    assert item["last_seen_at"]["S"] == recent.isoformat().replace("+00:00", ".000000Z")
    assert item["last_device"] == {"S": "app"}
    # No address was known: the older batch's is the latest known one (each field on its own).
    assert item["last_ip"] == {"S": "198.51.100.1"}
    assert len(timeline(api, customer)["items"]) == 2


def _seen(store_id: str, customer_id: str) -> tuple[str | None, str | None, str | None]:
    item = customer_item(store_id, customer_id)
    seen, device, ip = (
        item.get(n, {}).get("S") for n in ("last_seen_at", "last_device", "last_ip")
    )
    return seen, device, ip


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", ".000000Z")


def test_the_newest_item_without_device_or_ip_keeps_the_older_ones(api: Api, store_id: str) -> None:
    customer = new_customer(api)
    older, newer = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    batch = [
        _activity(
            "a", customer_id=customer, at=older.isoformat(), device="mobile", ip="203.0.113.7"
        ),
        _activity("b", customer_id=customer, at=newer.isoformat()),
    ]

    answer = api.call("POST", "/activity", {"items": batch})

    assert answer.status == 200, answer.body
    assert _seen(store_id, customer) == (_when(newer), "mobile", "203.0.113.7")
    assert api.call("GET", f"/customers/{customer}").body["last_device"] == "mobile"


def test_each_field_keeps_its_latest_known_value_across_batches(api: Api, store_id: str) -> None:
    customer = new_customer(api)
    t1, t2, t3, t4 = (NOW - timedelta(hours=h) for h in (4, 3, 2, 1))
    post = lambda *items: api.call("POST", "/activity", {"items": list(items)})  # noqa: E731

    post(_activity("a", customer_id=customer, at=t3.isoformat(), device="app"))
    # Older, arriving later: its device is older than the one known, its address is new.
    post(
        _activity("b", customer_id=customer, at=t2.isoformat(), device="desktop", ip="198.51.100.1")
    )
    assert _seen(store_id, customer) == (_when(t3), "app", "198.51.100.1")
    # Older still, with both: changes nothing.
    post(
        _activity("c", customer_id=customer, at=t1.isoformat(), device="tablet", ip="198.51.100.9")
    )
    assert _seen(store_id, customer) == (_when(t3), "app", "198.51.100.1")
    # Newest, with only an address.
    post(_activity("d", customer_id=customer, at=t4.isoformat(), ip="2001:db8::1"))
    assert _seen(store_id, customer) == (_when(t4), "app", "2001:db8::1")


def test_the_same_event_twice_in_one_batch_is_one_entry(api: Api, store_id: str) -> None:
    customer = new_customer(api)

    answer = api.call("POST", "/activity", {"items": [_activity("dup", customer_id=customer)] * 3})

    assert answer.status == 200
    assert len({r["entry_id"] for r in answer.body["results"]}) == 1
    assert len(stored_entries(store_id, customer)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "items": [_activity("a", email="a@example.com")] * 2
                + [_activity("c", email="c@example.com", at="yesterday")]
            },
            "items.2.at",
        ),
        ({"items": [_activity("a")]}, "items.0.customer_id"),
        ({"items": [_activity("a", email="a@example.com", kind="purchased")]}, "items.0.kind"),
        ({"items": [_activity("a", email="a@example.com", price=-1)]}, "items.0.price"),
        ({"items": []}, "items"),
        ({"items": [_activity(f"e{i}", email="a@example.com") for i in range(101)]}, "items"),
        ({"events": []}, "events"),
    ],
)
def test_a_malformed_batch_is_422_and_records_nothing(
    api: Api, store_id: str, body: dict[str, Any], field: str
) -> None:
    customer = new_customer(api, "a@example.com")

    answer = api.call("POST", "/activity", body)

    assert answer.status == 422, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in answer.body["errors"]]
    assert stored_entries(store_id, customer) == []
    assert "last_seen_at" not in customer_item(store_id, customer)


def test_activity_needs_the_write_scope(customers_client, store_id: str) -> None:
    reader = Api(
        customers_client,
        {"authorization": f"Bearer {token_for(store_id, ('customers:read',))}"},
    )
    answer = reader.call("POST", "/activity", {"items": [_activity("a", email="a@example.com")]})
    assert answer.status == 403


# The table stream: profile, tag and consent changes


def _image(store_id: str, customer_id: str, **attributes: Any) -> dict[str, Any]:
    plain = {
        "pk": f"STORE#{store_id}#CUSTOMER#{customer_id}",
        "sk": f"CUSTOMER#{customer_id}",
        "entity": "customer",
        "id": customer_id,
        "store_id": store_id,
        "email": "x@example.com",
        "created_at": "2026-11-20T10:00:00.000000Z",
        "updated_at": "2026-11-20T10:00:00.000000Z",
        "version": 1,
        **attributes,
    }
    return {name: _serializer.serialize(value) for name, value in plain.items()}


def stream_record(
    name: str,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    *,
    keys: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A record as Lambda hands it over: the shape of the table stream's records."""
    image = new or old
    assert image is not None
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": NOW.timestamp(),
        "Keys": keys or {"pk": image["pk"], "sk": image["sk"]},
        "SequenceNumber": str(uuid.uuid4().int)[:21],
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/clientela-customers/stream/x",
    }


@pytest.fixture
def record_history(apps: dict[str, Any]) -> Any:
    context = new_context(
        "clientela-customers", "record_customer_history", region="us-east-1", account="123456789012"
    )

    def run(*records: dict[str, Any]) -> Any:
        return apps["customers"].record_customer_history({"Records": list(records)}, context)

    return run


def _consent(state: str, source: str = "checkout") -> dict[str, Any]:
    return {
        "state": state,
        "opt_in_level": "single",
        "updated_at": "2026-11-21T09:00:00.000000Z",
        "source": source,
    }


def test_real_stream_records_of_api_changes_become_entries(
    api: Api, store_id: str, record_history
) -> None:
    customer = new_customer(api)
    api.call("PATCH", f"/customers/{customer}", {"city": "Curitiba", "country": "BR"})
    api.call("PATCH", f"/customers/{customer}", {"tags": ["vip"]})
    records = [
        r
        for r in stream_records(store_id)
        if r["dynamodb"]["Keys"]["sk"]["S"].startswith("CUSTOMER#")
    ]

    assert record_history(*records) == {"batchItemFailures": []}
    assert record_history(*records) == {"batchItemFailures": []}  # a retried batch

    items = timeline(api, customer, "?kind=profile_changed&kind=tags_changed")["items"]
    assert [i["kind"] for i in items] == ["tags_changed", "profile_changed"]
    tags, profile = items
    assert tags["data"] == {"added": ["vip"], "removed": []}
    assert set(profile["data"]["fields"]) >= {"city", "country"}
    assert "Curitiba" not in json.dumps(profile)
    assert profile["data"]["values"]["country"] == {"old": None, "new": "BR"}
    assert len(stored_entries(store_id, customer)) == 2


def test_consent_set_at_sign_up_and_changed_later(api: Api, store_id: str, record_history) -> None:
    customer = new_customer(api)
    created = _image(store_id, customer, email_consent=_consent("subscribed"))
    changed = _image(
        store_id,
        customer,
        version=2,
        updated_at="2026-11-22T08:00:00.000000Z",
        email_consent={**_consent("unsubscribed", "unsubscribe_link"), "updated_at": "2026-11-22T08:00:00.000000Z"},
        sms_consent={**_consent("subscribed", "admin"), "updated_at": "2026-11-22T07:00:00.000000Z"},
    )  # fmt: skip
    seen = {**changed, "last_seen_at": {"S": "2026-11-22T09:00:00.000000Z"}}

    result = record_history(
        stream_record("INSERT", created, None),
        stream_record("MODIFY", changed, created),
        stream_record("MODIFY", seen, changed),  # last seen only: nothing
    )

    assert result == {"batchItemFailures": []}
    items = timeline(api, customer, "?kind=consent_changed")["items"]
    assert [(i["data"]["channel"], i["data"]["old_state"], i["data"]["new_state"]) for i in items] == [
        ("email", "subscribed", "unsubscribed"),
        ("sms", "never_asked", "subscribed"),
        ("email", "never_asked", "subscribed"),
    ]  # fmt: skip
    assert items[0]["data"]["source"] == "unsubscribe_link"


def test_records_of_other_items_and_unknown_customers_are_skipped(
    api: Api, store_id: str, record_history
) -> None:
    ghost = "01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    before = _image(store_id, ghost)
    after = _image(store_id, ghost, city="Natal", version=2)
    tag_member = {"pk": {"S": f"STORE#{store_id}#TAG#0#vip"}, "sk": {"S": f"CUSTOMER#{ghost}"}}
    order = {
        "pk": {"S": f"STORE#{store_id}#ORDER#ES-1"},
        "sk": {"S": "ORDER#ES-1"},
        "total": {"N": "10"},
    }

    result = record_history(
        stream_record("MODIFY", after, before),
        stream_record("INSERT", tag_member, None),
        stream_record("MODIFY", order, order),
        stream_record("REMOVE", None, before),
    )

    assert result == {"batchItemFailures": []}
    assert stored_entries(store_id, ghost) == []


def test_a_failing_record_is_reported_and_the_ones_before_it_are_kept(
    api: Api, store_id: str, record_history, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = new_customer(api), new_customer(api)
    records = [
        stream_record(
            "MODIFY",
            _image(store_id, customer, city="Natal", version=2),
            _image(store_id, customer),
        )
        for customer in (first, second)
    ]
    store_class = _module("chalicelib.customers.timeline.store").TimelineStore
    real_put = store_class.put

    def put(self: Any, store: str, customer_id: str, entries: Any) -> bool:
        if customer_id == second:
            raise RuntimeError("DynamoDB is having a bad day")
        return bool(real_put(self, store, customer_id, entries))

    monkeypatch.setattr(store_class, "put", put)

    result = record_history(*records)

    assert result == {
        "batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert len(stored_entries(store_id, first)) == 1
    assert stored_entries(store_id, second) == []


# Whole timelines (for merges and deletions)


def test_move_then_delete_a_whole_timeline(api: Api, store_id: str) -> None:
    source, target = new_customer(api), new_customer(api)
    timeline_module = _module("chalicelib.customers.timeline.rules")
    usecases = _module("chalicelib.customers.timeline.usecases")
    entries = [
        timeline_module.new_entry(
            f"test/{n}", timeline_module.Kind.ADDED_TO_CART, NOW - timedelta(seconds=n), {"n": n}
        )
        for n in range(130)
    ]
    assert usecases.timeline_store().put(store_id, source, entries)  # two transactions

    assert usecases.move_timeline(store_id, source, target) == 130

    assert stored_entries(store_id, source) == []
    moved, _ = every_page(api, target, "limit=100")
    assert [i["data"]["n"] for i in moved] == list(range(130))
    assert usecases.move_timeline(store_id, source, target) == 0
    assert usecases.delete_timeline(store_id, target) == 130
    assert stored_entries(store_id, target) == []


@pytest.fixture
def customers_log(apps: dict[str, Any]) -> Iterator[io.StringIO]:
    """What the customers service logs (see tests/service/test_logs.py)."""
    service_logger = logging.getLogger("customers")
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    listener.setFormatter(service_logger.handlers[0].formatter)
    handlers, level = service_logger.handlers, service_logger.level
    service_logger.handlers = [listener]
    service_logger.setLevel(logging.DEBUG)
    yield stream
    service_logger.handlers = handlers
    service_logger.setLevel(level)
