"""A store spread over several shards reads exactly as a store of one: every plan, merged.

The customers of a store grown to four shards are written to all four (search entries, tag
memberships, tag counts and every list index's hash key); paging through any listing with
small pages must give what a brute-force `CustomerFilter.matches` gives, each customer once,
in the exact order asked for, and counts agree. A store that grows keeps every customer it had.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config

from chalicelib.customers import keys
from chalicelib.customers.profiles import rules, usecases
from chalicelib.customers.profiles import store as profile_store
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.rules import CustomerFilter, name_key
from chalicelib.customers.settings import settings
from chalicelib.customers.timeline.usecases import record_history
from clientela import aws

NOW = datetime.now(UTC)
FIRST = ["José", "João", "Maria", "Ana", "Jorge", "Ângela"]
LAST = ["Silva", "García", "Rossi", "Souza"]
COUNTRIES = ["BR", "ES", "IT"]
TAGS = ["vip", "wholesale", "newsletter"]
SHARDS = 4


def _aggregates(store_id: str, customer_id: str, rng: random.Random) -> None:
    orders = rng.choice([0, 0, 1, 2, 5])
    last_order = NOW - timedelta(days=rng.randint(1, 400)) if orders else None
    seen = NOW - timedelta(days=rng.randint(0, 300)) if rng.random() < 0.8 else None
    values: dict[str, Any] = {
        ":n": orders,
        # Ties on purpose: equal sort values in different shards must still merge in order.
        ":s": Decimal(rng.choice([0, 50, 100])) * orders,
        ":lok": keys.stamp(last_order) if last_order else "0",
        ":lsk": keys.stamp(seen) if seen else "0",
    }
    expression = "SET orders_count = :n, total_spent = :s, last_order_key = :lok"
    expression += ", last_seen_key = :lsk"
    if last_order:
        expression += ", last_order_at = :lo"
        values[":lo"] = keys.stamp(last_order)
    if seen:
        expression += ", last_seen_at = :ls"
        values[":ls"] = keys.stamp(seen)
    serializer = TypeSerializer()
    aws.dynamodb().update_item(
        TableName=settings().table,
        Key=keys.entity_key(store_id, keys.customer_sk(customer_id)),
        UpdateExpression=expression,
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={k: serializer.serialize(v) for k, v in values.items()},
    )


def _populate(store_id: str, count: int, rng: random.Random, offset: int = 0) -> None:
    for i in range(offset, offset + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        customer = usecases.create_customer(
            store_id,
            {
                "email": f"c{i}.{last.lower()}@example.com",
                "first_name": first,
                "last_name": last if rng.random() < 0.8 else None,
                "country": rng.choice(COUNTRIES) if rng.random() < 0.8 else None,
                "tags": rng.sample(TAGS, rng.randint(0, 2)),
                "favorite": rng.random() < 0.3,
            },
        )
        if rng.random() < 0.5:
            usecases.set_consent(store_id, customer.id, "email", Consent(state="subscribed"))
        _aggregates(store_id, customer.id, rng)


@pytest.fixture(scope="module")
def sharded(apps: dict[str, Any]) -> tuple[str, list[Customer]]:
    """A store of 24 customers over four shards (module-scoped: built once)."""
    rng = random.Random(11)
    store_id = f"shards-{rng.randint(0, 10**9)}"
    # Grown an hour ago: writers spread new customers over the four shards at once.
    usecases.customer_store().grow_shards(store_id, SHARDS, now=NOW - timedelta(hours=1))
    _populate(store_id, 24, rng)
    everyone = list(search_usecases.iterate_customers(store_id, CustomerFilter(now=NOW)))
    assert len(everyone) == 24
    return store_id, everyone


def _sort_key(customer: Customer, sort: str) -> Any:
    attribute = sort.lstrip("-")
    if attribute == "name":
        return name_key(customer)
    if attribute == "created_at":
        return customer.id
    value = getattr(customer, attribute)
    if attribute in ("last_order_at", "last_seen_at"):
        return keys.stamp(value) if value else "0"
    return value


def _all(
    store_id: str, flt: CustomerFilter, sort: str | None, limit: int
) -> tuple[list[Customer], str]:
    found: list[Customer] = []
    position = None
    for _ in range(200):
        page = search_usecases.find_customers(
            store_id, flt, sort=sort, limit=limit, position=position
        )
        found += page.customers
        if page.position is None:
            return found, page.sort
        position = page.position
    raise AssertionError("the listing never ends")


def test_customers_are_spread_over_every_shard(sharded: tuple[str, list[Customer]]) -> None:
    _, everyone = sharded
    assert {c.shard for c in everyone} == set(range(SHARDS))


# Each filter with the sorts it is read with: every plan (the list, a sort index, a range
# filter's index, an equality index, tag memberships any/all, search entries) at least once.
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({}, None),
    ({}, "created_at"),
    ({}, "name"),
    ({}, "-total_spent"),
    ({"country": "BR"}, None),
    ({"favorite": True}, "created_at"),
    ({"email_consent": "subscribed"}, "orders_count"),
    ({"tags": ("vip",)}, None),
    ({"tags": ("vip", "wholesale"), "tag_mode": "all"}, None),
    ({"tags": ("vip", "wholesale"), "tag_mode": "any"}, None),
    ({"status": "active"}, None),
    ({"spent_min": Decimal(100)}, None),
    ({"never_ordered": True}, "-last_order_at"),
    ({"country": "ES", "orders_min": 1}, None),
    ({"q": "jo"}, None),
    ({"q": "silva"}, None),
    ({"created_from": NOW - timedelta(days=1)}, None),
]


@pytest.mark.parametrize(
    ("given", "sort"), CASES, ids=[f"{','.join(g) or 'all'}-{s}" for g, s in CASES]
)
def test_every_plan_over_shards_finds_exactly_the_matching_customers_in_order(
    sharded: tuple[str, list[Customer]], given: dict[str, Any], sort: str | None
) -> None:
    store_id, everyone = sharded
    flt = CustomerFilter(now=NOW, **given)
    expected = sorted(c.id for c in everyone if flt.matches(c))
    for limit in (4, 50):
        found, order = _all(store_id, flt, sort, limit)

        assert sorted(c.id for c in found) == expected, (given, sort, limit)
        if order != "match":
            in_order = [_sort_key(c, order) for c in found]
            assert in_order == sorted(in_order, reverse=order.startswith("-")), (given, sort)
    assert search_usecases.count_customers(store_id, flt) == len(expected)


def test_tag_counts_add_up_over_shards(sharded: tuple[str, list[Customer]]) -> None:
    store_id, everyone = sharded
    expected = {tag: sum(tag in c.tags for c in everyone) for tag in TAGS}

    counts = dict(usecases.customer_store().tag_counts(store_id))

    assert counts == {tag: n for tag, n in expected.items() if n}


def test_a_growing_store_keeps_every_customer_and_its_cursors(apps: dict[str, Any]) -> None:
    rng = random.Random(5)
    store_id = f"grows-{rng.randint(0, 10**9)}"
    store = usecases.customer_store()
    _populate(store_id, 10, rng)
    first, _ = _all(store_id, CustomerFilter(now=NOW), None, 4)
    page = search_usecases.find_customers(
        store_id, CustomerFilter(now=NOW), sort="name", limit=3, position=None
    )

    store.grow_shards(store_id, 3, now=NOW - timedelta(hours=1))
    _populate(store_id, 12, rng, offset=10)
    store.grow_shards(store_id, 2)  # never fewer

    assert store.shards(store_id) == 3
    everyone, _ = _all(store_id, CustomerFilter(now=NOW), None, 5)
    assert len(everyone) == 22 and {c.id for c in first} <= {c.id for c in everyone}
    assert {c.shard for c in everyone} == {0, 1, 2}
    # A cursor taken before the store grew goes on from where it was, in order, in every
    # shard: no customer it could list is missed (those added since sort where they sort, as
    # in one partition: the ones before the cursor are not on the next pages).
    rest, _ = _all_from(store_id, page.position)
    names = [name_key(c) for c in page.customers + rest]
    assert names == sorted(names)
    assert {c.id for c in first} <= {c.id for c in rest} | {c.id for c in page.customers}
    assert any(c.shard > 0 for c in rest)


def _all_from(store_id: str, position: Any) -> tuple[list[Customer], None]:
    found: list[Customer] = []
    while position is not None:
        page = search_usecases.find_customers(
            store_id, CustomerFilter(now=NOW), sort="name", limit=3, position=position
        )
        found += page.customers
        position = page.position
    return found, None


def test_writers_wait_for_readers_before_using_new_shards(apps: dict[str, Any]) -> None:
    store_id = f"waits-{random.Random(9).randint(0, 10**9)}"
    store = usecases.customer_store()

    store.grow_shards(store_id, 8)

    assert store.shards(store_id) == 8  # readers read the new shards at once
    assert store.write_shards(store_id) == 1  # writers use them once every reader does


class StreamTail:
    """The table stream from now on, for one store: each `read` gives its records written
    since the last, in order, as Lambda's event source mapping hands them to
    `publish_customer_changes`."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.streams = boto3.client(
            "dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")
        )
        table = boto3.client("dynamodb").describe_table(TableName=settings().table)["Table"]
        arn = table["LatestStreamArn"]
        self.iterators = [
            self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        ]

    def read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for number in range(len(self.iterators)):
            while True:
                page = self.streams.get_records(ShardIterator=self.iterators[number], Limit=1000)
                records += [dict(r) for r in page["Records"]]
                self.iterators[number] = page["NextShardIterator"]
                if not page["Records"]:
                    break
        mine = [
            r
            for r in records
            if r["dynamodb"]["Keys"]["pk"]["S"].startswith(f"STORE#{self.store_id}#")
        ]
        for record in mine:
            when = record["dynamodb"].get("ApproximateCreationDateTime")
            if when is not None and not isinstance(when, int | float):
                record["dynamodb"]["ApproximateCreationDateTime"] = when.timestamp()
        return mine


def test_a_store_that_grows_gets_more_shards_from_its_counters_and_reads_exactly(
    apps: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shard per 8 customers (a step every 2), and writers that move to new shards at once
    # (no reader of this test caches the count): a store grows within a few dozen customers.
    monkeypatch.setattr(rules, "CUSTOMERS_PER_SHARD", 8)
    monkeypatch.setattr(profile_store, "SHARDS_TTL", timedelta(0))
    rng = random.Random(17)
    store_id = f"autogrow-{rng.randint(0, 10**9)}"
    store = usecases.customer_store()
    stream = StreamTail(store_id)

    def sign_up(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            usecases.create_customer(
                store_id,
                {"email": f"g{i}@example.com", "first_name": rng.choice(FIRST), "tags": ["vip"]},
            )

    sign_up(8, 0)
    usecases.grow_stores(stream.read())
    assert store.shards(store_id) == 1  # 8 customers: one shard holds them

    sign_up(4, 8)
    batch = stream.read()
    record_history(batch)  # the stream consumer, as Lambda runs it
    assert store.shards(store_id) == 2 and store.write_shards(store_id) == 2
    record_history(batch)  # the batch again: nothing more
    assert store.shards(store_id) == 2

    sign_up(14, 12)
    usecases.grow_stores(stream.read())
    assert store.shards(store_id) == 4  # 26 customers: 4 shards of 8
    sign_up(6, 26)
    usecases.grow_stores(stream.read())

    assert store.shards(store_id) == 4  # 32 customers: still 4
    everyone = list(search_usecases.iterate_customers(store_id, CustomerFilter(now=NOW)))
    assert len(everyone) == 32
    created = sorted(everyone, key=lambda c: c.id)
    assert {c.shard for c in created[:8]} == {0}  # before the store grew
    assert all(c.shard == keys.shard_of(c.id, 4) for c in created[26:])  # since it has 4
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({}, None),
        ({}, "name"),
        ({"tags": ("vip",)}, None),
        ({"q": "jo"}, None),
    ]
    for given, sort in cases:
        flt = CustomerFilter(now=NOW, **given)
        expected = sorted(c.id for c in everyone if flt.matches(c))
        found, order = _all(store_id, flt, sort, 4)
        assert sorted(c.id for c in found) == expected, given
        if order != "match":
            in_order = [_sort_key(c, order) for c in found]
            assert in_order == sorted(in_order, reverse=order.startswith("-"))
        assert search_usecases.count_customers(store_id, flt) == len(expected)
    assert search_usecases.count_customers_with_source(store_id, CustomerFilter(now=NOW)) == (
        32,
        "counters",
    )
