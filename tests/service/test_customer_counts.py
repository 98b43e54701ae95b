"""Counts without a scan: the counters every customer write keeps are exact.

After creates, patches, consent changes, deletions and a merge, racing writers and replayed
writes, the counters (the store, each tag, each country, favorite, each consent state) equal a
brute-force count over every customer; `GET /customers/count` says which counts come from
them and which are read as a listing reads.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.customers.errors import VersionMismatch, WriteConflict
from chalicelib.customers.merge import usecases as merge_usecases
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.search import plans
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.rules import CustomerFilter
from tests.service.conftest import Api

NOW = datetime.now(UTC)
COUNTRIES = ["BR", "ES", "PT"]
TAGS = ["vip", "b2b", "late"]


def _everyone(store_id: str) -> list[Customer]:
    flt = CustomerFilter(now=NOW)
    return list(search_usecases.iterate_customers(store_id, flt))


def _assert_counters_exact(store_id: str) -> None:
    everyone = _everyone(store_id)
    filters: list[dict[str, Any]] = [
        {},
        {"favorite": True},
        {"favorite": False},
        *({"country": c} for c in COUNTRIES),
        *({"tags": (t,)} for t in TAGS),
        *({"email_consent": s} for s in ("subscribed", "unsubscribed", "pending", "never_asked")),
        *({"sms_consent": s} for s in ("subscribed", "never_asked")),
    ]
    for given in filters:
        flt = CustomerFilter(now=NOW, **given)
        total, source = search_usecases.count_customers_with_source(store_id, flt)
        assert source == plans.COUNTERS, given
        assert total == sum(flt.matches(c) for c in everyone), given


def _profile(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "email": f"count{i}@example.com",
        "first_name": f"N{i}",
        "country": rng.choice(COUNTRIES),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
        "favorite": rng.random() < 0.4,
    }


def test_counters_follow_every_kind_of_change(apps: dict[str, Any], store_id: str) -> None:
    rng = random.Random(1)
    made = [usecases.create_customer(store_id, _profile(rng, i)) for i in range(12)]
    any_version = usecases.Precondition()
    usecases.update_customer(store_id, made[0].id, {"country": "ES", "favorite": True}, any_version)
    usecases.update_customer(store_id, made[1].id, {"country": None, "tags": ["vip"]}, any_version)
    usecases.set_consent(store_id, made[2].id, "email", Consent(state="subscribed"))
    usecases.set_consent(store_id, made[2].id, "email", Consent(state="unsubscribed"))
    usecases.set_consent(store_id, made[3].id, "email", Consent(state="pending"))
    usecases.delete_customer(store_id, made[4].id, any_version)
    merge_usecases.merge_customers(store_id, made[5].id, [made[6].id, made[7].id], dry_run=False)

    _assert_counters_exact(store_id)
    assert len(_everyone(store_id)) == 9


def test_counters_are_exact_under_racing_writers(apps: dict[str, Any], store_id: str) -> None:
    rng = random.Random(2)
    profiles = [_profile(rng, i) for i in range(10)]
    shared = usecases.create_customer(store_id, {"email": "shared@example.com", "country": "BR"})

    def patch(i: int) -> None:
        for _ in range(5):  # racing patches of one customer: each retried until it lands
            try:
                usecases.update_customer(
                    store_id,
                    shared.id,
                    {"country": COUNTRIES[i % 3], "favorite": i % 2 == 0},
                    usecases.Precondition(),
                )
                return
            except (VersionMismatch, WriteConflict):
                continue

    with ThreadPoolExecutor(max_workers=6) as pool:
        creates = [pool.submit(usecases.create_customer, store_id, p) for p in profiles]
        patches = [pool.submit(patch, i) for i in range(6)]
        for future in creates + patches:
            future.result()

    _assert_counters_exact(store_id)


def test_a_replayed_write_counts_once(apps: dict[str, Any], store_id: str) -> None:
    store = usecases.customer_store()
    customer = usecases.create_customer(store_id, {"email": "once@example.com", "country": "PT"})
    stored = store.get(store_id, customer.id)
    assert stored is not None
    changed = dataclasses.replace(
        stored,
        country="ES",
        version=stored.version + 1,
        updated_at=stored.updated_at + timedelta(seconds=1),
    )

    store.add(customer)  # the create, delivered again: our own write, nothing changes
    store.replace(stored, changed)
    store.replace(stored, changed)  # the same change again: refused by its version, as landed
    store.remove(changed)
    with pytest.raises(VersionMismatch):  # already gone: refused, nothing more taken away
        store.remove(changed)

    _assert_counters_exact(store_id)
    assert store.count(store_id, ["customers"]) == 0


def test_the_count_answer_says_how_it_was_counted(api: Api) -> None:
    for i, country in enumerate(["BR", "BR", "ES"]):
        body = {"email": f"say{i}@example.com", "country": country, "city": "Natal"}
        assert api.call("POST", "/customers", body).status == 201

    by_country = api.call("GET", "/customers/count?country=BR")
    by_city = api.call("GET", "/customers/count?city=natal")
    everyone = api.call("GET", "/customers/count")

    assert by_country.body == {"count": 2, "counted_by": "counters"}
    assert by_city.body == {"count": 3, "counted_by": "query"}
    assert everyone.body == {"count": 3, "counted_by": "counters"}


def test_counters_spread_over_shards_add_up(apps: dict[str, Any], store_id: str) -> None:
    store = usecases.customer_store()
    store.grow_shards(store_id, 3, now=NOW - timedelta(hours=1))
    rng = random.Random(4)
    made = [usecases.create_customer(store_id, _profile(rng, i)) for i in range(9)]

    assert len(Counter(c.shard for c in _everyone(store_id))) > 1
    usecases.delete_customer(store_id, made[0].id, usecases.Precondition())
    _assert_counters_exact(store_id)
