"""The re-keying job: a store written in the first layout comes out whole in today's.

The first layout's items are written as its code wrote them (one partition per store); the job
runs a few items at a time from its checkpoints, a step is replayed as after a crash, and the
store then lists, searches, counts and reports exactly as one created today, with nothing of
the old layout left and no event published for the move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

from chalicelib.customers import keys
from chalicelib.customers.migration import usecases as migration
from chalicelib.customers.orders.rules import LineItem, Order
from chalicelib.customers.orders.store import order_item
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import to_item
from chalicelib.customers.publishing import event_for
from chalicelib.customers.search import plans
from chalicelib.customers.search import usecases as search
from chalicelib.customers.search.rules import CustomerFilter, search_tokens
from chalicelib.customers.settings import settings
from clientela.ids import new_id
from tests.service.conftest import Api

NOW = datetime.now(UTC)


def _old_customer(store_id: str, n: int, country: str, tags: list[str]) -> Customer:
    """A customer as the first layout stored it, with its e-mail, entries and memberships."""
    customer = Customer(
        id=new_id(),
        store_id=store_id,
        created_at=NOW,
        updated_at=NOW,
        version=1,
        email=f"old{n}@example.com",
        first_name=f"Olga{n}",
        last_name="Antiga",
        country=country,
        tags=tags,
    )
    item = to_item(customer)
    store = keys.store_pk(store_id)
    for name in ("shard", "list_key"):
        item.pop(name)
    item.update(
        pk={"S": store},
        sk={"S": keys.customer_sk(customer.id)},
        country_key={"S": f"{store}#{country}"},
        email_consent_key={"S": f"{store}#never_asked"},
        sms_consent_key={"S": f"{store}#never_asked"},
    )
    db = boto3.client("dynamodb")
    table = settings().table
    db.put_item(TableName=table, Item=item)
    db.put_item(
        TableName=table,
        Item={
            "pk": {"S": store},
            "sk": {"S": f"EMAIL#{customer.email}"},
            "entity": {"S": "email"},
            "customer_id": {"S": customer.id},
        },
    )
    for token in search_tokens(customer):
        db.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"{store}#SEARCH"},
                "sk": {"S": f"{token}\t{customer.id}"},
                "customer_id": {"S": customer.id},
            },
        )
    for tag in tags:
        db.put_item(
            TableName=table,
            Item={"pk": {"S": f"{store}#TAG#{tag}"}, "sk": {"S": f"CUSTOMER#{customer.id}"}},
        )
        db.update_item(
            TableName=table,
            Key={"pk": {"S": store}, "sk": {"S": f"TAG#{tag}"}},
            UpdateExpression="ADD customers :one SET tag = :tag",
            ExpressionAttributeValues={":one": {"N": "1"}, ":tag": {"S": tag}},
        )
    return customer


def _old_order(store_id: str, customer: Customer, order_id: str) -> None:
    line = LineItem("p1", "SKU", "Thing", 1, Decimal("10.00"))
    order = Order(
        order_id=order_id,
        email=customer.email or "",
        placed_at=NOW,
        currency="EUR",
        total=Decimal("10.00"),
        items=(line,),
        customer_id=customer.id,
    )
    item = order_item(store_id, order)
    item.pop("orders_key")
    item["pk"] = {"S": keys.store_pk(store_id)}
    boto3.client("dynamodb").put_item(TableName=settings().table, Item=item)


def _old_items_left(store_id: str) -> list[str]:
    db = boto3.client("dynamodb")
    store = keys.store_pk(store_id)
    left = []
    for pk in (store, f"{store}#SEARCH", f"{store}#TAG#vip", f"{store}#TAG#b2b"):
        answer = db.query(
            TableName=settings().table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )
        left += [
            f"{pk} {i['sk']['S']}"
            for i in answer["Items"]
            if i["sk"]["S"] not in ("MIGRATION", keys.SHARDS_SK)
        ]
    return left


def test_a_store_of_the_first_layout_is_re_keyed_whole(api: Api, store_id: str) -> None:
    olds = [
        _old_customer(store_id, n, country, tags)
        for n, (country, tags) in enumerate(
            [("ES", ["vip"]), ("ES", []), ("BR", ["vip", "b2b"]), ("PT", ["b2b"])] * 8
        )
    ]
    for n, customer in enumerate(olds[:5]):
        _old_order(store_id, customer, f"OLD-{n}")
    usecases.customer_store().grow_shards(store_id, 3, now=datetime(2020, 1, 1, tzinfo=UTC))

    runs: list[migration.MigrationStatus] = []
    while not runs or runs[-1].phase != "done":
        runs.append(migration.migrate_store(store_id, budget=10))
        assert len(runs) < 20
    # A crash right after a step: the step again, and the whole job again, change nothing.
    store = migration.migration_store()
    assert migration.migrate_store(store_id).phase == "done"
    store.sweep(store_id)

    assert len(runs) > 3 and runs[-1].moved == len(olds) + 5
    assert _old_items_left(store_id) == []
    everyone = list(search.iterate_customers(store_id, CustomerFilter(now=NOW)))
    assert sorted(c.id for c in everyone) == sorted(c.id for c in olds)
    assert {c.shard for c in everyone} == {0, 1, 2}
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, 32),
        ({"country": "ES"}, 16),
        ({"tags": ("vip",)}, 16),
    ]
    for given, expected in cases:
        flt = CustomerFilter(now=NOW, **given)
        assert search.count_customers_with_source(store_id, flt) == (expected, plans.COUNTERS)
    assert search.count_customers(store_id, CustomerFilter(q="olga1", now=NOW)) == 11
    assert dict(usecases.tag_counts(store_id)) == {"vip": 16, "b2b": 16}
    # The e-mail is still reserved: a second customer with it is refused, naming the first.
    taken = api.call("POST", "/customers", {"email": "old3@example.com"})
    assert taken.status == 409 and olds[3].id in str(taken.body)
    # The orders moved into the date index of a shard: the report finds all five.
    report = api.call("GET", f"/reports/sales-by-customer?from={NOW.date()}&to={NOW.date()}")
    assert report.status == 200, report.body
    assert sum(row["orders"] for row in report.body["items"]) == 5


def test_a_moved_item_publishes_nothing() -> None:
    sk = "CUSTOMER#01JD3Z6Q4W0W8Y5J3K2M1N0PQR"
    image: dict[str, Any] = {"pk": {"S": f"STORE#s1#{sk}"}, "sk": {"S": sk}}
    image["migrated"] = {"BOOL": True}
    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image},
    }

    assert event_for(record) is None
