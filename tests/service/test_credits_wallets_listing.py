"""The store's wallet listing and totals against moto: every filter and sort is served by an
index (a filtered page reads only what it shows), and the totals come from the counters the
postings keep, exact under concurrent postings and replays."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from clientela import aws
from tests.service.conftest import Api
from tests.service.test_credits_consumer import created, deliver, sqs_record, wallets
from tests.service.test_credits_ledger_api import debit, grant, new_customer

__all__ = ["deliver", "wallets"]

SOON = "2098-01-01T00:00:00Z"
LATER = "2099-01-01T00:00:00Z"


def open_wallets(store_id: str, deliver: Any, n: int) -> list[str]:
    ids = [new_customer() for _ in range(n)]
    deliver(*(sqs_record(created(store_id, c)) for c in ids))
    return ids


def credit(api: Api, customer: str, amount: str, kind: str, **extra: Any) -> None:
    answer = grant(api, customer, amount, kind=kind, **extra)
    assert answer.status == 201, answer.body


def every_page(api: Api, query: str, limit: int = 2) -> tuple[list[dict[str, Any]], int]:
    """Every item of a listing through its cursor, and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor = ""
    pages = 0
    while True:
        answer = api.call("GET", f"/wallets?{query}&limit={limit}{cursor}")
        assert answer.status == 200, answer.body
        items += answer.body["items"]
        pages += 1
        if answer.body["next_cursor"] is None:
            return items, pages
        cursor = f"&cursor={answer.body['next_cursor']}"


@pytest.fixture
def store(wallets: Api, store_id: str, deliver: Any) -> dict[str, dict[str, Any]]:
    """Six wallets: what each should show in the listing."""
    a, b, c, d, e, _never = open_wallets(store_id, deliver, 6)
    credit(wallets, a, "30.00", "bonus", expires_at=SOON)
    credit(wallets, b, "12.50", "cashback")
    credit(wallets, b, "5.00", "manual", expires_at=LATER)
    credit(wallets, c, "7.00", "bonus", expires_at=LATER)
    assert debit(wallets, c, "7.00").status == 201  # spent: no credit, no bonus left
    credit(wallets, d, "100.00", "manual")
    credit(wallets, e, "3.00", "cashback", expires_at=SOON)
    credit(wallets, e, "4.00", "bonus")
    # _never had a posting: not listed.
    return {
        a: {"balance": "30.00", "bonus": "30.00", "cashback": "0.00", "expiry": SOON},
        b: {"balance": "17.50", "bonus": "0.00", "cashback": "12.50", "expiry": LATER},
        c: {"balance": "0.00", "bonus": "0.00", "cashback": "0.00", "expiry": None},
        d: {"balance": "100.00", "bonus": "0.00", "cashback": "0.00", "expiry": None},
        e: {"balance": "7.00", "bonus": "4.00", "cashback": "3.00", "expiry": SOON},
    }


def test_every_filter_and_sort_pages_through_exactly_what_matches(
    wallets: Api, store: dict[str, dict[str, Any]]
) -> None:
    def expect(keep: Any, key: Any, reverse: bool = False) -> list[str]:
        kept = [c for c, w in store.items() if keep(w)]
        return sorted(kept, key=lambda c: (key(store[c]), c), reverse=reverse)

    def money(w: dict[str, Any], name: str) -> Decimal:
        return Decimal(w[name])

    def anything(_w: dict[str, Any]) -> bool:
        return True

    def flat(_w: dict[str, Any]) -> int:
        return 0

    cases = {
        "": expect(anything, flat),
        "sort=-balance": expect(anything, lambda w: money(w, "balance"), True),
        "sort=balance": expect(anything, lambda w: money(w, "balance")),
        "has_active_credit=true": expect(
            lambda w: money(w, "balance") > 0, lambda w: money(w, "balance"), True
        ),
        "has_active_credit=false&sort=customer_id": expect(
            lambda w: money(w, "balance") == 0, flat
        ),
        "has_bonus=true": expect(
            lambda w: money(w, "bonus") > 0, lambda w: money(w, "bonus"), True
        ),
        "cashback_at_least=3.00": expect(
            lambda w: money(w, "cashback") >= 3, lambda w: money(w, "cashback"), True
        ),
        "balance_at_least=17.50": expect(
            lambda w: money(w, "balance") >= Decimal("17.50"), lambda w: money(w, "balance"), True
        ),
        "expiring_before=2098-06-01T00:00:00Z": expect(
            lambda w: w["expiry"] is not None and w["expiry"] < "2098-06", lambda w: w["expiry"]
        ),
        "has_bonus=true&sort=-balance&balance_at_least=10": expect(
            lambda w: money(w, "bonus") > 0 and money(w, "balance") >= 10,
            lambda w: money(w, "balance"),
            True,
        ),
        "sort=next_expiry&has_active_credit=true": expect(
            lambda w: w["expiry"] is not None, lambda w: w["expiry"]
        ),
    }
    for query, expected in cases.items():
        items, _ = every_page(wallets, query)
        assert [i["customer_id"] for i in items] == expected, query
        for item in items:
            assert item["balance"] == store[item["customer_id"]]["balance"], query
            assert item["cashback"] == store[item["customer_id"]]["cashback"], query


def test_totals_of_the_filters_come_from_the_counters(
    wallets: Api, store: dict[str, dict[str, Any]]
) -> None:
    def totals(query: str) -> tuple[Any, Any, Any]:
        body = wallets.call("GET", f"/wallets?{query}").body
        return body["count"], body["outstanding"], body["cashback"]

    assert totals("") == (5, "154.50", "15.50")
    assert totals("has_active_credit=true") == (4, "154.50", "15.50")
    assert totals("has_active_credit=false") == (1, "0.00", "0.00")
    assert totals("has_bonus=true") == (2, "37.00", "3.00")
    assert totals("has_bonus=false") == (3, "117.50", "12.50")
    assert totals("has_active_credit=true&has_bonus=false") == (2, "117.50", "12.50")
    # Thresholds have no counter: the page is exact, the totals are not claimed.
    assert totals("cashback_at_least=1") == (None, None, None)
    summary = wallets.call("GET", "/credits/summary").body
    assert summary == {
        "currency": "BRL",
        "wallets": 5,
        "wallets_with_credit": 4,
        "wallets_with_bonus": 2,
        "outstanding": "154.50",
        "bonus": "34.00",
        "cashback": "15.50",
        "next_expiry": summary["next_expiry"],
    }
    assert summary["next_expiry"].startswith("2098-01-01")


@pytest.fixture
def read_items() -> Iterator[list[tuple[str, int]]]:
    """(index, items returned) of every Query the app makes while the fixture is active."""
    seen: list[tuple[str, int]] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        seen.append((params.get("IndexName", ""), 0))

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query" and seen:
            seen[-1] = (seen[-1][0], len(parsed.get("Items", [])))

    events = aws.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.Query", count)
    events.register("after-call.dynamodb.Query", after)
    yield seen
    events.unregister("provide-client-params.dynamodb.Query", count)
    events.unregister("after-call.dynamodb.Query", after)


def test_a_filtered_page_reads_only_the_wallets_it_shows(
    wallets: Api, store_id: str, deliver: Any, read_items: list[tuple[str, int]]
) -> None:
    many = open_wallets(store_id, deliver, 12)
    for customer in many:
        credit(wallets, customer, "1.00", "manual")
    rich = many[0]
    credit(wallets, rich, "50.00", "cashback")
    read_items.clear()
    body = wallets.call("GET", "/wallets?cashback_at_least=10").body
    assert [i["customer_id"] for i in body["items"]] == [rich]
    assert body["sort"] == "-cashback"
    assert {index for index, _ in read_items} == {"wallets-by-cashback"}
    assert sum(n for _, n in read_items) == 1  # not the 12 wallets of the store


def test_referrers_are_listed_with_their_balances(
    wallets: Api, store_id: str, deliver: Any
) -> None:
    programme = {
        "referrer_reward": "20.00",
        "friend_reward": "10.00",
        "currency": "BRL",
        "expiry_days": 90,
        "share_base_url": "https://loja.example.com.br/indique",
    }
    assert wallets.call("PUT", "/referrals/programme", programme).status == 200
    customers = open_wallets(store_id, deliver, 5)
    for customer in customers:
        credit(wallets, customer, "2.00", "manual")
    referrers = sorted(customers[:3])
    for customer in referrers:
        assert wallets.call("POST", "/referrers", {"customer_id": customer}).status == 201
    items, pages = every_page(wallets, "referrer=true", limit=2)
    assert [i["customer_id"] for i in items] == referrers
    assert pages == 2
    assert {i["balance"] for i in items} == {"2.00"}
    refused = wallets.call("GET", "/wallets?referrer=false")
    assert refused.status == 422
    assert refused.body["errors"][0]["field"] == "referrer"


def test_totals_stay_exact_under_concurrent_postings_and_replays(
    wallets: Api, store_id: str, deliver: Any
) -> None:
    """From threads, through the use cases (Chalice's test client serves one request at a
    time): postings to the same wallets race, each retried with its key."""
    from chalicelib.credits.ledger import usecases

    customers = open_wallets(store_id, deliver, 4)
    lock = threading.Lock()
    done: list[bool] = []

    def post(n: int) -> None:
        customer = customers[n % len(customers)]
        kind = "bonus" if n % 3 == 0 else "cashback"
        for attempt in range(2):  # the second is a retry: no new entry, no new total
            posted = usecases.grant(
                store_id,
                customer,
                kind=kind,
                amount=Decimal("1.25"),
                currency="BRL",
                expires_at=None,
                origin={"admin": "test"},
                note=None,
                key=f"k{n}",
            )
            assert posted.replayed == (attempt == 1)
        if n % 4 == 0:
            usecases.debit(
                store_id,
                customer,
                amount=Decimal("0.25"),
                currency="BRL",
                order_id=None,
                key=uuid.uuid4().hex,
            )
        with lock:
            done.append(True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(24)))
    assert len(done) == 24
    shown = [wallets.call("GET", f"/wallets/{c}").body["balances"][0] for c in customers]
    summary = wallets.call("GET", "/credits/summary").body
    assert summary["outstanding"] == str(sum(Decimal(b["balance"]) for b in shown))
    assert summary["outstanding"] == "28.50"  # 24 x 1.25 - 6 x 0.25
    assert summary["bonus"] == str(sum(Decimal(b["bonus"]) for b in shown))
    assert summary["cashback"] == str(sum(Decimal(b["cashback"]) for b in shown))
    assert summary["wallets"] == summary["wallets_with_credit"] == 4
