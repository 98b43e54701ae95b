"""The re-keying job: a store written in the first layout comes out whole in today's.

The first layout's items are written as its code wrote them (one partition per store); the job
runs a few items at a time from its checkpoints, a step is replayed as after a crash, and the
store then lists, searches, counts and reports exactly as one created today, with nothing of
the old layout left and no event published for the move.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from chalicelib.customers import keys
from chalicelib.customers.imports import usecases as imports
from chalicelib.customers.migration import usecases as migration
from chalicelib.customers.orders.rules import LineItem, Order
from chalicelib.customers.orders.store import order_item
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import CustomerStore, to_item
from chalicelib.customers.publishing import event_for
from chalicelib.customers.search import plans
from chalicelib.customers.search import usecases as search
from chalicelib.customers.search.rules import CustomerFilter, search_tokens
from chalicelib.customers.settings import settings
from chalicelib.customers.timeline import usecases as timeline
from clientela import aws
from clientela.ids import new_id
from clientela_local.lambda_context import new_context
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
        total_spent=Decimal(n),  # an order index's order, without ties
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


# The job: started over HTTP, run a chunk at a time from its messages on the jobs queue -------


class MigrationQueue:
    """The jobs queue as Lambda's event source mapping sees it, for one store's re-keying."""

    def __init__(self, app: Any, store_id: str) -> None:
        self.app = app
        self.store_id = store_id
        self.sqs = aws.client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]

    def receive(self) -> list[dict[str, Any]]:
        """This store's visible migration messages (others stay hidden a while, received)."""
        for _ in range(100):
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            mine = [m for m in messages if self._mine(m)]
            if mine or not messages:
                return mine
        return []

    def _mine(self, message: dict[str, Any]) -> bool:
        body = json.loads(message["Body"])
        return bool(body.get("job_id") == "MIGRATION" and body.get("store_id") == self.store_id)

    def deliver(self, message: dict[str, Any]) -> bool:
        """One invocation of `run_bulk_job`; a failed message is visible again at once (as
        after its visibility timeout). Whether it succeeded."""
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message["Attributes"],
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:clientela-customers-jobs",
        }
        context = new_context(
            "clientela-customers", "run_bulk_job", region="us-east-1", account="123456789012"
        )
        answer = self.app.run_bulk_job({"Records": [record]}, context)
        if answer.get("batchItemFailures"):
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            return False
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return True

    def one(self) -> bool:
        (message,) = self.receive()
        return self.deliver(message)

    def run(self) -> int:
        delivered = 0
        while messages := self.receive():
            for message in messages:
                self.deliver(message)
                delivered += 1
            assert delivered < 100, "the job never ran out of messages"
        return delivered


def _reads(api: Api, store_id: str) -> dict[str, Any]:
    """What the store's screens show: listings (paged by 5, across both layouts while the job
    runs), a search, a tag, a country, an order index, the counts, the tags."""

    def every(query: str) -> list[str]:
        ids: list[str] = []
        cursor = ""
        for _ in range(50):
            answer = api.call("GET", f"/customers?limit=5&{query}{cursor}")
            assert answer.status == 200, answer.body
            ids += [c["id"] for c in answer.body["items"]]
            if not answer.body.get("next_cursor"):
                return ids
            cursor = f"&cursor={answer.body['next_cursor']}"
        raise AssertionError("the listing never ends")

    def count(query: str) -> int:
        answer = api.call("GET", f"/customers/count?{query}")
        assert answer.status == 200, answer.body
        return int(answer.body["count"])

    queries = ["", "sort=created_at", "q=olga1", "tag=vip", "country=ES", "sort=name"]
    queries += ["sort=-total_spent", "tag=vip&tag=b2b&tag_mode=any"]
    tags = api.call("GET", "/tags").body
    return {
        "lists": {query: every(query) for query in queries},
        "counts": {q: count(q) for q in ("", "tag=vip", "country=ES", "country=BR&tag=b2b")},
        "tags": tags,
    }


def test_the_job_re_keys_a_store_in_chunks_while_it_is_served_and_resumes_after_a_crash(
    api: Api, store_id: str, apps: dict[str, Any], monkeypatch: Any
) -> None:
    olds = [
        _old_customer(store_id, n, country, tags)
        for n, (country, tags) in enumerate(
            [("ES", ["vip"]), ("ES", []), ("BR", ["vip", "b2b"]), ("PT", ["b2b"])] * 4
        )
    ]
    for n, customer in enumerate(olds[:3]):
        _old_order(store_id, customer, f"JOB-{n}")
    monkeypatch.setattr(migration, "CHUNK", 5)
    queue = MigrationQueue(apps["customers"], store_id)
    assert api.call("GET", "/migration").body["status"] == "not_started"

    started = api.call("POST", "/migration")

    assert started.status == 202 and started.headers["location"] == "/migration"
    before = _reads(api, store_id)  # nothing moved yet: the first layout, read through
    ids = sorted(c.id for c in olds)
    assert sorted(before["lists"][""]) == ids and before["lists"]["sort=created_at"] == ids
    assert before["lists"][""] == sorted(ids, reverse=True)
    assert before["counts"] == {"": 16, "tag=vip": 8, "country=ES": 8, "country=BR&tag=b2b": 4}
    assert before["tags"]["items"] == [
        {"tag": "b2b", "customers": 8},
        {"tag": "vip", "customers": 8},
    ]
    assert len(before["lists"]["q=olga1"]) == 1 + 6  # olga1, olga10..olga15
    by_name = sorted(olds, key=lambda c: (c.first_name or "").lower())
    assert before["lists"]["sort=name"] == [c.id for c in by_name]
    by_spent = sorted(olds, key=lambda c: c.total_spent, reverse=True)
    assert before["lists"]["sort=-total_spent"] == [c.id for c in by_spent]

    assert queue.one()  # chunk 0: five customers moved
    job = api.call("GET", "/migration").body
    assert (job["status"], job["chunk"], job["counts"]["customers"]) == ("running", 1, 5)
    assert _reads(api, store_id) == before  # half and half: the same screens

    # While it runs: an edit moves its customer first; an e-mail still in the first layout is
    # taken.
    unmoved = next(c for c in olds if _old_key_exists(store_id, c.id))
    edited = api.call(
        "PATCH",
        f"/customers/{unmoved.id}",
        {"city": "Sevilla"},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert edited.status == 200, edited.body
    assert not _old_key_exists(store_id, unmoved.id)
    other = next(c for c in olds if c.id != unmoved.id and _old_key_exists(store_id, c.id))
    taken = api.call("POST", "/customers", {"email": other.email})
    assert taken.status == 409 and other.id in str(taken.body)
    # An order of the first layout sent again is recognised (moved first), not counted twice.
    again = {
        "order_id": "JOB-1",
        "customer_id": olds[1].id,
        "email": olds[1].email,
        "placed_at": keys.stamp(NOW),
        "currency": "EUR",
        "total": "10.00",
        "items": [
            {
                "product_id": "p1",
                "sku": "SKU",
                "name": "Thing",
                "quantity": 1,
                "unit_price": "10.00",
            }
        ],
    }
    recorded = api.call("POST", "/orders", {"orders": [again]})
    assert recorded.status == 200, recorded.body
    assert recorded.body["results"][0]["result"] == "already_recorded", recorded.body
    assert _reads(api, store_id) == before

    # A crash after a customer's move and before its old entries are deleted: the chunk
    # fails, is delivered again and goes on from its checkpoint.
    store_class = type(migration.migration_store().customers)
    real = store_class.batch_write
    calls = {"n": 0}

    def crash_once(self: Any, **given: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 4 and given.get("deletes"):
            raise RuntimeError("the Lambda died here")
        return real(self, **given)

    monkeypatch.setattr(store_class, "batch_write", crash_once)
    assert not queue.one()  # the chunk failed: its message is delivered again
    monkeypatch.setattr(store_class, "batch_write", real)
    assert api.call("GET", "/customers/count").body["count"] == 16
    # A duplicate of a chunk already run saves nothing.
    assert migration.run_chunk(store_id, 0) == "duplicate"

    queue.run()

    job = api.call("GET", "/migration").body
    assert job["status"] == "done" and job["phase"] == "done" and job["error"] is None
    # Counted: the moves of saved chunks; one customer and one order moved on touch, two
    # customers by the chunk that crashed (found moved when it ran again). Read by saved
    # chunks: those same customers, and the orders left.
    assert (job["counts"]["customers"], job["counts"]["orders"]) == (16 - 1 - 2, 2)
    assert job["examined"] == 13 + 2
    assert _old_items_left(store_id) == []
    assert _reads(api, store_id) == before
    assert api.call("GET", "/customers/count").body["counted_by"] == "counters"
    # Started again, a finished job stays as it is.
    restarted = api.call("POST", "/migration")
    assert restarted.status == 202 and restarted.body["status"] == "done"
    assert not queue.receive()


def _old_key_exists(store_id: str, customer_id: str) -> bool:
    item = boto3.client("dynamodb").get_item(
        TableName=settings().table,
        Key=keys.first_layout_key(store_id, keys.customer_sk(customer_id)),
    )
    return "Item" in item


def test_an_item_that_cannot_be_moved_fails_the_job_saying_why_and_it_resumes(
    api: Api, store_id: str, apps: dict[str, Any]
) -> None:
    olds = [_old_customer(store_id, n, "ES", []) for n in range(3)]
    broken = sorted(c.id for c in olds)[1]
    db = boto3.client("dynamodb")
    key = keys.first_layout_key(store_id, keys.customer_sk(broken))
    db.update_item(
        TableName=settings().table,
        Key=key,
        UpdateExpression="SET created_at = :bad",
        ExpressionAttributeValues={":bad": {"S": "not a time"}},
    )
    queue = MigrationQueue(apps["customers"], store_id)

    api.call("POST", "/migration")
    queue.run()

    job = api.call("GET", "/migration").body
    assert job["status"] == "failed"
    assert job["error"] == f"cannot move CUSTOMER#{broken}: ValueError"
    assert api.call("GET", "/customers/count").body["count"] == 3  # still served, both layouts

    db.update_item(
        TableName=settings().table,
        Key=key,
        UpdateExpression="SET created_at = :ok",
        ExpressionAttributeValues={":ok": {"S": keys.stamp(NOW)}},
    )
    resumed = api.call("POST", "/migration")
    queue.run()

    assert resumed.body["status"] == "running"
    job = api.call("GET", "/migration").body
    # The customer the failed chunk moved before the broken one is not counted (counts are
    # of saved chunks); every customer is in today's layout.
    assert (job["status"], job["counts"]["customers"]) == ("done", 2)
    assert _old_items_left(store_id) == []
    assert api.call("GET", "/customers/count").body == {"count": 3, "counted_by": "counters"}


# Orders, review markers and a merge record of the first layout: the reports, the merged
# customer's page and the review state read the same before, during and after the job -------

REPORTS = ("sales-by-customer", "purchase-frequency")
SORTS = ("orders", "amount", "first_order_at", "last_order_at", "email")


def _old_item(store_id: str, sk: str, values: dict[str, Any]) -> None:
    """An order, a review marker or a merge record as the first layout stored it."""
    wire = {name: TypeSerializer().serialize(value) for name, value in values.items()}
    item = {**wire, "pk": {"S": keys.store_pk(store_id)}, "sk": {"S": sk}}
    boto3.client("dynamodb").put_item(TableName=settings().table, Item=item)


def _old_order_of(
    store_id: str, customer: Customer, order_id: str, days_ago: int, total: str, *, owner: str = ""
) -> Order:
    """A placed order of the first layout, the customer's (or, after a merge, `owner`'s)."""
    line = LineItem("p1", "SKU", "Thing", 1, Decimal(total))
    order = Order(
        order_id=order_id,
        email=customer.email or "",
        placed_at=NOW - timedelta(days=days_ago),
        currency="EUR",
        total=Decimal(total),
        items=(line,),
        customer_id=owner or customer.id,
    )
    item = order_item(store_id, order)
    item.pop("orders_key")
    item["pk"] = {"S": keys.store_pk(store_id)}
    boto3.client("dynamodb").put_item(TableName=settings().table, Item=item)
    return order


def _old_store_with_history(store_id: str) -> dict[str, Any]:
    """Six customers of the first layout; orders of several customers over several days (one
    outside the reports' period), a merged customer's orders now the kept one's, a merge
    record, review markers; each customer's aggregates as those orders and reviews made them."""
    olds = [_old_customer(store_id, 40 + n, "ES", []) for n in range(6)]
    kept, merged_id = olds[0], new_id()
    plan = {
        0: [(1, "12.50"), (3, "7.25"), (20, "100.00"), (60, "5.00")],  # one out of the period
        1: [(2, "30.00"), (5, "1.10")],
        2: [(1, "12.50"), (4, "99.99"), (9, "0.01")],
        3: [(6, "45.00")],
    }
    orders: dict[str, list[Order]] = {}
    for index, placings in plan.items():
        customer = olds[index]
        orders[customer.id] = [
            _old_order_of(store_id, customer, f"H{index}-{n}", days, total)
            for n, (days, total) in enumerate(placings)
        ]
    # The merge (of the first layout) made the merged customer's orders the kept one's and
    # deleted its profile; its e-mail stays on its orders.
    merged = Customer(
        id=merged_id,
        store_id=store_id,
        created_at=NOW,
        updated_at=NOW,
        version=1,
        email="merged40@example.com",
    )
    orders[kept.id] += [
        _old_order_of(store_id, merged, f"M-{n}", days, "8.00", owner=kept.id)
        for n, days in enumerate((2, 7))
    ]
    merge_id = new_id()
    _old_item(
        store_id,
        f"MERGE#{merge_id}",
        {
            "entity": "merge",
            "merge_id": merge_id,
            "kept_id": kept.id,
            "merged_ids": [merged_id],
            "merged_at": keys.stamp(NOW - timedelta(days=1)),
        },
    )
    reviews = [(kept, "R1", 5), (kept, "R2", 2), (olds[1], "R3", 4)]
    for customer, review_id, rating in reviews:
        _old_item(
            store_id,
            f"REVIEW#{review_id}",
            {
                "entity": "review",
                "review_id": review_id,
                "customer_id": customer.id,
                "product_id": "p1",
                "rating": rating,
                "at": keys.stamp(NOW - timedelta(days=1)),
            },
        )
    db = boto3.client("dynamodb")
    for customer in olds:
        placed = orders.get(customer.id, [])
        ratings = [rating for c, _, rating in reviews if c.id == customer.id]
        values: dict[str, Any] = {
            ":count": {"N": str(len(placed))},
            ":spent": {"N": str(sum((o.total for o in placed), Decimal(0)))},
            ":ratings": {"N": str(len(ratings))},
            ":rating_sum": {"N": str(sum(ratings))},
        }
        update = "SET orders_count = :count, total_spent = :spent, rating_count = :ratings"
        update += ", rating_sum = :rating_sum"
        if placed:
            dates = sorted(keys.stamp(o.placed_at) for o in placed)
            values |= {":first": {"S": dates[0]}, ":last": {"S": dates[-1]}, ":eur": {"S": "EUR"}}
            update += ", first_order_at = :first, last_order_at = :last, currency = :eur"
        db.update_item(
            TableName=settings().table,
            Key=keys.first_layout_key(store_id, keys.customer_sk(customer.id)),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
        )
    return {"olds": olds, "kept": kept, "merged_id": merged_id, "reviews": reviews}


def _history_screens(
    api: Api, history: dict[str, Any], *, paged: bool = False, between: Any = None
) -> dict[str, Any]:
    """Both reports over a period, in every sort, whole or `paged` by 3 (`between` runs between
    the first two pages of the first one); the kept customer's page and orders; the review
    state: each reviewer's ratings, and each review sent again."""
    start, end = (NOW - timedelta(days=30)).date(), NOW.date()

    def pages(path: str, hook: Any = None) -> list[Any]:
        items: list[Any] = []
        cursor = ""
        for _ in range(30):
            answer = api.call("GET", f"{path}{cursor}")
            assert answer.status == 200, answer.body
            items += answer.body["items"]
            if not answer.body.get("next_cursor"):
                return items
            if hook is not None:
                hook()
                hook = None
            cursor = f"&cursor={answer.body['next_cursor']}"
        raise AssertionError("the listing never ends")

    reports = {}
    for report in REPORTS:
        for sort in (*SORTS, *(f"-{s}" for s in SORTS)):
            query = (
                f"/reports/{report}?from={start}&to={end}&sort={sort}&limit={3 if paged else 50}"
            )
            reports[f"{report} {sort}"] = pages(query, between)
            between = None
    kept = history["kept"]
    profile = api.call("GET", f"/customers/{kept.id}")
    assert profile.status == 200, profile.body
    sent_again = []
    for customer, review_id, rating in history["reviews"]:
        body = {
            "review_id": review_id,
            "customer_id": customer.id,
            "product_id": "p1",
            "rating": rating,
            "at": keys.stamp(NOW - timedelta(days=1)),
        }
        answer = api.call("POST", "/reviews", body)
        assert answer.status == 200, answer.body
        sent_again.append(answer.body)
    ratings = {}
    for customer in history["olds"][:2]:
        body = api.call("GET", f"/customers/{customer.id}").body
        ratings[customer.id] = (body["rating_count"], body["rating_average"])
    return {
        "reports": reports,
        "kept": profile.body,
        "kept_orders": pages(f"/customers/{kept.id}/orders?limit=2"),
        "merged": api.call("GET", f"/customers/{history['merged_id']}").status,
        "reviews": sent_again,
        "ratings": ratings,
    }


def test_reports_reviews_and_merges_read_the_same_before_during_and_after_the_job(
    api: Api, store_id: str, apps: dict[str, Any], monkeypatch: Any
) -> None:
    history = _old_store_with_history(store_id)
    monkeypatch.setattr(migration, "CHUNK", 8)
    queue = MigrationQueue(apps["customers"], store_id)
    api.call("POST", "/migration")

    before = _history_screens(api, history, paged=True)

    frequency = before["reports"]["purchase-frequency email"]
    assert [(r["email"], r["orders"]) for r in frequency] == [
        ("merged40@example.com", 2),
        ("old40@example.com", 3),  # its order of 60 days ago is out of the period
        ("old41@example.com", 2),
        ("old42@example.com", 3),
        ("old43@example.com", 1),
    ]
    assert frequency[0]["customer_id"] == history["kept"].id
    assert before["kept"]["orders_count"] == 6 and before["kept"]["rating_count"] == 2
    assert len(before["kept_orders"]) == 6 and before["merged"] == 404
    assert [r["result"] for r in before["reviews"]] == ["already_recorded"] * 3
    assert [r["customer_id"] for r in before["reviews"]] == [c.id for c, _, _ in history["reviews"]]

    # A chunk moves items while a report is between its pages.
    assert _history_screens(api, history, paged=True, between=queue.one) == before
    phases = [api.call("GET", "/migration").body["phase"]]
    real = CustomerStore.adopt_entity
    crashed: list[str] = []
    duplicated: list[str] = []

    def crash_once_after_moving(self: Any, store: str, old: dict[str, Any]) -> None:
        real(self, store, old)
        if not crashed:
            crashed.append(old["sk"]["S"])
            raise RuntimeError("the Lambda died here")

    while messages := queue.receive():
        for message in messages:
            phase = api.call("GET", "/migration").body["phase"]
            if phase == "ORDER#" and not crashed:
                monkeypatch.setattr(CustomerStore, "adopt_entity", crash_once_after_moving)
                assert not queue.deliver(message)  # moved one order, then died: comes again
                monkeypatch.setattr(CustomerStore, "adopt_entity", real)
                assert _history_screens(api, history) == before
                continue
            if crashed and not duplicated:  # the same chunk twice: one of them saves nothing
                queue.sqs.send_message(QueueUrl=queue.url, MessageBody=message["Body"])
                duplicated.append(message["Body"])
            assert queue.deliver(message)
            phases.append(api.call("GET", "/migration").body["phase"])
            assert _history_screens(api, history) == before, phases
            assert len(phases) < 40

    job = api.call("GET", "/migration").body
    assert job["status"] == "done" and crashed and duplicated and "ORDER#" in phases
    assert (job["counts"]["reviews"], job["counts"]["merges"]) == (3, 1)
    assert _old_items_left(store_id) == []
    assert _history_screens(api, history, paged=True) == before


def test_a_merge_while_the_store_migrates_moves_the_first_layout_orders_too(
    api: Api, store_id: str, apps: dict[str, Any]
) -> None:
    kept, other = (_old_customer(store_id, 70 + n, "ES", []) for n in range(2))
    _old_order_of(store_id, kept, "K-1", 1, "5.00")
    for n, days in enumerate((2, 3)):
        _old_order_of(store_id, other, f"O-{n}", days, "7.00")
    queue = MigrationQueue(apps["customers"], store_id)
    api.call("POST", "/migration")  # marked; no chunk has run
    # Storefront activity and an import find a customer not moved yet by its e-mail.
    assert timeline.customer_named(store_id, None, other.email) == other.id
    assert imports.import_store().owners_of_emails(store_id, [other.email or ""]) == {
        other.email: other.id
    }

    merged = api.call("POST", "/customers/merge", {"keep_id": kept.id, "merge_ids": [other.id]})

    assert merged.status == 200, merged.body
    assert merged.body["orders_moved"] == 2

    def kept_orders() -> list[tuple[str, str]]:
        answer = api.call("GET", f"/customers/{kept.id}/orders?limit=2")
        pages = answer.body["items"]
        following = answer.body["next_cursor"]
        answer = api.call("GET", f"/customers/{kept.id}/orders?limit=2&cursor={following}")
        return [(o["order_id"], o["customer_id"]) for o in pages + answer.body["items"]]

    expected = [("K-1", kept.id), ("O-0", kept.id), ("O-1", kept.id)]
    assert kept_orders() == expected
    queue.run()
    assert api.call("GET", "/migration").body["status"] == "done"
    assert kept_orders() == expected
    period = f"from={(NOW - timedelta(days=5)).date()}&to={NOW.date()}"
    report = api.call("GET", f"/reports/purchase-frequency?{period}&sort=email")
    assert [(r["email"], r["orders"], r["customer_id"]) for r in report.body["items"]] == [
        (kept.email, 1, kept.id),
        (other.email, 2, kept.id),
    ]
