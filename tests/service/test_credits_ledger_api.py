"""The credits ledger over its HTTP API, against moto: grants, debits, reversals, the screens."""

from __future__ import annotations

import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from chalice.test import Client

from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.test_credits_consumer import (
    created,
    deliver,
    publish_changes,
    sqs_record,
    wallets,
)
from tests.service.test_credits_consumer import deleted as deleted_event

__all__ = ["deliver", "wallets"]

FUTURE = "2099-01-01T00:00:00Z"


def new_customer() -> str:
    from clientela.ids import new_id

    return new_id()


@pytest.fixture
def customer(store_id: str, deliver: Any) -> str:
    customer_id = new_customer()
    deliver(sqs_record(created(store_id, customer_id)))
    return customer_id


def grant(api: Api, customer_id: str, amount: str, *, key: str | None = None, **extra: Any):
    body = {"kind": "bonus", "amount": amount, "currency": "BRL", **extra}
    return api.call(
        "POST",
        f"/wallets/{customer_id}/credits",
        body,
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def debit(api: Api, customer_id: str, amount: str, *, key: str | None = None, **extra: Any):
    return api.call(
        "POST",
        f"/wallets/{customer_id}/debits",
        {"amount": amount, "currency": "BRL", **extra},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def wallet(api: Api, customer_id: str, query: str = "") -> dict[str, Any]:
    answer = api.call("GET", f"/wallets/{customer_id}{query}")
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_a_grant_is_a_lot_and_a_credit_entry(wallets: Api, customer: str) -> None:
    answer = grant(wallets, customer, "25.5", expires_at=FUTURE, note="welcome")
    assert answer.status == 201, answer.body
    assert answer.body["entry"]["type"] == "credit"
    assert answer.body["entry"]["amount"] == "25.50"
    assert answer.body["lot"]["remaining"] == "25.50"
    assert answer.body["balance"] == "25.50"
    shown = wallet(wallets, customer)
    assert shown["balance"] == "25.50"
    assert [lot["kind"] for lot in shown["lots"]] == ["bonus"]
    assert shown["lots"][0]["expires_at"].startswith("2099-01-01")
    assert [e["balance_after"] for e in shown["entries"]] == ["25.50"]


def test_the_same_key_answers_the_first_result_and_another_body_gets_422(
    wallets: Api, customer: str
) -> None:
    first = grant(wallets, customer, "10.00", key="k1")
    again = grant(wallets, customer, "10", key="k1")
    assert again.status == 200
    assert again.body["entry"] == first.body["entry"]
    other = grant(wallets, customer, "11.00", key="k1")
    assert other.status == 422
    assert other.body["errors"][0]["field"] == "Idempotency-Key"
    assert wallet(wallets, customer)["balance"] == "10.00"
    assert len(wallet(wallets, customer)["entries"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.5", "currency": "JPY"}, "amount"),
        ({"amount": "1", "currency": "XYZ"}, "currency"),
        ({"amount": "1", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"amount": "1", "kind": "gift"}, "kind"),
    ],
)
def test_bad_grants_get_422_naming_the_field_and_change_nothing(
    wallets: Api, customer: str, body: dict[str, Any], field: str
) -> None:
    answer = wallets.call(
        "POST",
        f"/wallets/{customer}/credits",
        {"kind": "bonus", "currency": "BRL", **body},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status == 422, answer.body
    assert field in {e["field"] for e in answer.body["errors"]}
    shown = wallet(wallets, customer)
    assert shown["entries"] == [] and shown["lots"] == []


def test_a_grant_needs_an_idempotency_key(wallets: Api, customer: str) -> None:
    answer = wallets.call(
        "POST", f"/wallets/{customer}/credits", {"kind": "bonus", "amount": "1", "currency": "BRL"}
    )
    assert answer.status == 422
    assert answer.body["errors"][0]["field"] == "Idempotency-Key"


def test_unknown_customer_or_another_stores_customer_is_404(
    wallets: Api, customer: str, apps: dict[str, Any]
) -> None:
    assert grant(wallets, new_customer(), "1").status == 404
    assert debit(wallets, new_customer(), "1").status == 404
    from tests.conftest import token_for

    other = {"authorization": f"Bearer {token_for('store-other-one')}"}
    with Client(apps["credits"].app) as client:
        intruder = Api(client, {**wallets.headers, **other})
        assert grant(intruder, customer, "1").status == 404
        assert intruder.call("GET", f"/wallets/{customer}").status == 404
    assert wallet(wallets, customer)["entries"] == []


def test_a_closed_wallet_takes_no_credit(
    wallets: Api, customer: str, store_id: str, deliver: Any
) -> None:
    deliver(sqs_record(deleted_event(store_id, customer)))
    assert grant(wallets, customer, "1").status == 404


def test_debits_spend_soonest_expiring_first_and_no_overdraft(wallets: Api, customer: str) -> None:
    forever = grant(wallets, customer, "10.00").body["lot"]["lot_id"]
    late = grant(wallets, customer, "10.00", expires_at="2099-06-01T00:00:00Z").body["lot"]
    soon = grant(wallets, customer, "10.00", expires_at="2098-06-01T00:00:00Z").body["lot"]
    spent = debit(wallets, customer, "15.00", order_id="o-1")
    assert spent.status == 201, spent.body
    assert [(t["lot_id"], t["amount"]) for t in spent.body["entry"]["lots"]] == [
        (soon["lot_id"], "10.00"),
        (late["lot_id"], "5.00"),
    ]
    assert spent.body["balance"] == "15.00"
    refused = debit(wallets, customer, "15.01")
    assert refused.status == 409
    assert refused.body["type"].endswith("insufficient-credit")
    shown = wallet(wallets, customer)
    assert shown["balance"] == "15.00"
    remaining = {lot["lot_id"]: lot["remaining"] for lot in shown["lots"]}
    assert remaining == {forever: "10.00", late["lot_id"]: "5.00", soon["lot_id"]: "0.00"}


def test_a_reversal_puts_back_on_the_same_lots_never_more_than_debited(
    wallets: Api, customer: str
) -> None:
    grant(wallets, customer, "10.00", expires_at=FUTURE)
    grant(wallets, customer, "10.00")
    spent = debit(wallets, customer, "15.00", order_id="o-2").body["entry"]
    path = f"/wallets/{customer}/debits/{spent['entry_id']}/reversal"
    part = wallets.call("POST", path, {"amount": "4.00"}, headers={"Idempotency-Key": "r1"})
    assert part.status == 201, part.body
    # The last lot taken comes back first.
    assert part.body["entry"]["lots"] == [spent["lots"][-1] | {"amount": "4.00"}]
    too_much = wallets.call("POST", path, {"amount": "11.01"}, headers={"Idempotency-Key": "r2"})
    assert too_much.status == 422
    rest = wallets.call("POST", path, {}, headers={"Idempotency-Key": "r3"})
    assert rest.status == 201
    assert rest.body["entry"]["amount"] == "11.00"
    assert rest.body["balance"] == "20.00"
    nothing = wallets.call("POST", path, {"amount": "0.01"}, headers={"Idempotency-Key": "r4"})
    assert nothing.status == 422
    assert wallets.call("POST", path, {}, headers={"Idempotency-Key": "r3"}).status == 200
    shown = wallet(wallets, customer)
    assert {lot["remaining"] for lot in shown["lots"]} == {"10.00"}
    missing = f"/wallets/{customer}/debits/{new_customer()}/reversal"
    assert wallets.call("POST", missing, {}, headers={"Idempotency-Key": "r5"}).status == 404


def test_the_ledger_pages_and_filters(wallets: Api, customer: str) -> None:
    for _ in range(3):
        grant(wallets, customer, "1.00")
    debit(wallets, customer, "1.00", order_id="o-3")
    first = wallet(wallets, customer, "?limit=2")
    assert [e["type"] for e in first["entries"]] == ["debit", "credit"]
    second = wallet(wallets, customer, f"?limit=2&cursor={first['next_cursor']}")
    assert [e["type"] for e in second["entries"]] == ["credit", "credit"]
    assert second["next_cursor"] is None
    only = wallet(wallets, customer, "?type=debit")
    assert [e["type"] for e in only["entries"]] == ["debit"]
    tampered = wallets.call(
        "GET", f"/wallets/{customer}?limit=2&type=debit&cursor={first['next_cursor']}"
    )
    assert tampered.status == 422


def test_40_concurrent_debits_never_overdraw(wallets: Api, customer: str, store_id: str) -> None:
    """From threads, through the use case (Chalice's test client keeps one current request per
    app, so it cannot serve threads): as many succeed as the balance covers, the rest are
    refused for insufficient credit (the route's 409), and the ledger sums to the balance."""
    from chalicelib.credits.ledger import usecases
    from chalicelib.credits.ledger.rules import InsufficientCredit

    for _ in range(3):
        grant(wallets, customer, "5.00", expires_at=FUTURE)
    grant(wallets, customer, "2.00")
    # 17.00 in all: 17 debits of 1.00 fit, 23 must be refused. (Each race's losers retry, so
    # the work grows with the square of the threads: 100 took 60-110 s of the suite.)

    def spend(number: int) -> str:
        try:
            usecases.debit(
                store_id,
                customer,
                amount=Decimal("1.00"),
                currency="BRL",
                order_id=None,
                key=f"c{number}",
            )
        except InsufficientCredit:
            return "insufficient-credit"
        return "spent"

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(spend, range(40)))
    assert results.count("spent") == 17
    assert results.count("insufficient-credit") == 23
    assert debit(wallets, customer, "0.01").status == 409
    shown = wallet(wallets, customer, "?limit=200")
    assert shown["balance"] == "0.00"
    assert sum(Decimal(e["amount"]) for e in shown["entries"]) == Decimal(0)
    assert len([e for e in shown["entries"] if e["type"] == "debit"]) == 17
    assert {lot["remaining"] for lot in shown["lots"]} == {"0.00"}


def _soon(seconds: float = 1.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def _run_expiry(apps: dict[str, Any], at: datetime) -> Any:
    context = new_context(
        "clientela-credits", "expire_credits", region="us-east-1", account="123456789012"
    )
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.isoformat().replace("+00:00", "Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    return apps["credits"].expire_credits(event, context)


def test_lots_past_their_date_are_never_spent_and_the_job_expires_each_once(
    wallets: Api, customer: str, apps: dict[str, Any]
) -> None:
    soon = grant(wallets, customer, "5.00", expires_at=_soon()).body["lot"]["lot_id"]
    grant(wallets, customer, "3.00")
    time.sleep(1.2)
    # The job has not run: the lot still counts in the balance, never in what can be spent.
    refused = debit(wallets, customer, "4.00")
    assert refused.status == 409
    shown = wallet(wallets, customer)
    assert (shown["balance"], shown["balances"][0]["spendable"]) == ("8.00", "3.00")
    _run_expiry(apps, datetime.now(UTC))
    _run_expiry(apps, datetime.now(UTC))
    shown = wallet(wallets, customer)
    expirations = [e for e in shown["entries"] if e["type"] == "expiration"]
    assert [(e["lot_id"], e["amount"]) for e in expirations] == [(soon, "-5.00")]
    assert shown["balance"] == "3.00"
    assert {lot["lot_id"]: lot["expired"] for lot in shown["lots"]}[soon] is True


def test_a_reversal_onto_a_lot_that_expired_meanwhile_expires_again_at_once(
    wallets: Api, customer: str, apps: dict[str, Any]
) -> None:
    grant(wallets, customer, "5.00", expires_at=_soon())
    spent = debit(wallets, customer, "5.00", order_id="o-x").body["entry"]["entry_id"]
    time.sleep(1.2)
    _run_expiry(apps, datetime.now(UTC))
    path = f"/wallets/{customer}/debits/{spent}/reversal"
    back = wallets.call("POST", path, {}, headers={"Idempotency-Key": "rx"})
    assert back.status == 201, back.body
    assert back.body["entry"]["reexpired"] == "5.00"
    assert [(e["type"], e["amount"]) for e in back.body["also"]] == [("expiration", "-5.00")]
    assert "again" in back.body["also"][0]["note"]
    assert back.body["balance"] == "0.00"
    assert wallet(wallets, customer)["balance"] == "0.00"


def test_a_debit_over_more_lots_than_a_transaction_holds_is_exact_and_atomic(
    wallets: Api, customer: str, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """120 lots: the debit commits on the balance (with its entry and key) in one transaction,
    then settles the lots in chunks; a crash before settling is finished by the next reader."""
    from chalicelib.credits.ledger import usecases
    from chalicelib.credits.ledger.store import LedgerStore

    for number in range(120):
        usecases.grant(
            store_id,
            customer,
            kind="cashback",
            amount=Decimal("0.50"),
            currency="BRL",
            expires_at=None,
            origin={"order": f"o{number}"},
            note=None,
            key=f"g{number}",
        )
    settle = LedgerStore.settle

    def dies_once(self: LedgerStore, *args: Any) -> None:
        monkeypatch.setattr(LedgerStore, "settle", settle)  # the function died here

    monkeypatch.setattr(LedgerStore, "settle", dies_once)
    spent = debit(wallets, customer, "59.75", key="big")
    assert spent.status == 201, spent.body
    assert len(spent.body["entry"]["lots"]) == 120
    assert spent.body["balance"] == "0.25"
    # Nobody can spend what the committed debit took: the next posting settles it first.
    assert debit(wallets, customer, "0.26").status == 409
    shown = wallet(wallets, customer, "?limit=1")
    assert shown["balance"] == "0.25"
    assert sorted({lot["remaining"] for lot in shown["lots"]}) == ["0.00", "0.25"]
    assert sum(Decimal(lot["remaining"]) for lot in shown["lots"]) == Decimal("0.25")
    # The same key answers the first result; spending the rest works on settled lots.
    assert debit(wallets, customer, "59.75", key="big").status == 200
    assert debit(wallets, customer, "0.25").status == 201
    assert wallet(wallets, customer)["balance"] == "0.00"


def _inbox_events(store_id: str) -> list[dict[str, Any]]:
    """What the bus delivered to the customers inbox queue for this store (others' left)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="clientela-customers-inbox")["QueueUrl"]
    found: list[dict[str, Any]] = []
    quiet = 0
    while quiet < 2:  # standard queues answer from a sample of servers: ask until it is quiet
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        mine = [
            m for m in batch if json.loads(m["Body"])["detail"]["metadata"]["store_id"] == store_id
        ]
        for message in mine:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found.append(json.loads(message["Body"]))
        # Others' messages are hidden once received (90 s): only an empty answer means done.
        quiet = 0 if batch else quiet + 1
    # Not ordered (a standard queue): by the time each movement happened.
    return sorted(found, key=lambda e: e["detail"]["metadata"]["occurred_at"])
    return found


def test_postings_reach_the_customer_timeline(
    wallets: Api, api: Api, store_id: str, deliver: Any, apps: dict[str, Any]
) -> None:
    """credit.* v1 on the bus, through the customers inbox rule and queue, onto the timeline."""
    answer = api.call("POST", "/customers", {"email": f"c{uuid.uuid4().hex[:8]}@ex.com"})
    customer_id = answer.body["id"]
    deliver(sqs_record(created(store_id, customer_id)))
    _inbox_events(store_id)  # whatever the customer's creation sent there
    grant(wallets, customer_id, "20.00", expires_at=FUTURE, key="g")
    grant(wallets, customer_id, "20.00", expires_at=FUTURE, key="g")  # a retry: nothing new
    spent = debit(wallets, customer_id, "5.50", order_id="o-9").body["entry"]["entry_id"]
    path = f"/wallets/{customer_id}/debits/{spent}/reversal"
    wallets.call("POST", path, {"amount": "1.50"}, headers={"Idempotency-Key": "r"})
    assert _inbox_events(store_id) == []  # nothing is published with the write
    publish_changes(apps, store_id)  # the table's stream -> the bus
    delivered = _inbox_events(store_id)
    assert [e["detail-type"] for e in delivered] == [
        "credit.granted",
        "credit.spent",
        "credit.reverted",
    ]
    assert delivered[0]["detail"]["data"]["amount"] == "20.00"
    assert delivered[0]["detail"]["data"]["expires_at"].startswith("2099-01-01")
    assert delivered[1]["detail"]["data"]["balance_after"] == "14.50"
    inbox = sys.modules["chalicelib.customers.inbox"]
    for event in delivered:
        inbox.handle_event(event)
    answer = api.call("GET", f"/customers/{customer_id}/timeline")
    kinds = [item["kind"] for item in answer.body["items"]]
    assert kinds.count("credit_granted") == 1
    assert kinds.count("credit_spent") == 1
    granted = next(i for i in answer.body["items"] if i["kind"] == "credit_granted")
    assert granted["data"]["amount"] == "20.00"
    assert granted["data"]["credit_kind"] == "bonus"


def test_credit_expiring_goes_out_once_per_lot_at_the_lead_time(
    wallets: Api, customer: str, store_id: str, apps: dict[str, Any]
) -> None:
    soon = grant(wallets, customer, "5.00", expires_at=_soon(3 * 86400)).body["lot"]["lot_id"]
    grant(wallets, customer, "5.00", expires_at=_soon(30 * 86400))  # outside the 7 days
    grant(wallets, customer, "5.00")  # never expires
    _run_expiry(apps, datetime.now(UTC))
    _run_expiry(apps, datetime.now(UTC) + timedelta(hours=1))
    publish_changes(apps, store_id)
    expiring = [e for e in _inbox_events(store_id) if e["detail-type"] == "credit.expiring"]
    assert [e["detail"]["data"]["lot_id"] for e in expiring] == [soon]
    assert expiring[0]["detail"]["data"]["remaining"] == "5.00"
    shown = wallet(wallets, customer)
    assert shown["balance"] == "15.00"  # announced, not expired
    assert [e["type"] for e in shown["entries"]] == ["credit"] * 3


def _order_event(store_id: str, event_type: str, data: Any) -> dict[str, Any]:
    from clientela.events import OutgoingEvent

    return sqs_record(OutgoingEvent(event_type, 1, uuid.uuid4(), store_id, datetime.now(UTC), data))


def test_a_cancelled_order_gets_its_credit_back_once(
    wallets: Api, customer: str, store_id: str, deliver: Any
) -> None:
    from clientela_events.storefront import OrderCancelledV1, OrderRefundedV1

    grant(wallets, customer, "10.00", expires_at=FUTURE)
    grant(wallets, customer, "10.00")
    debit(wallets, customer, "12.00", order_id="BR-7")
    debit(wallets, customer, "3.00", order_id="BR-8")
    refunded = OrderRefundedV1(
        order_id="BR-8", refund_id="rf-1", amount=Decimal("1.00"), refunded_at=datetime.now(UTC)
    )
    cancelled = OrderCancelledV1(order_id="BR-7", cancelled_at=datetime.now(UTC))
    record = _order_event(store_id, "order.refunded", refunded)
    assert deliver(record, record) == {"batchItemFailures": []}  # redelivered in one batch
    assert wallet(wallets, customer)["balance"] == "6.00"
    deliver(_order_event(store_id, "order.cancelled", cancelled))
    deliver(_order_event(store_id, "order.cancelled", cancelled))  # another event, same order
    shown = wallet(wallets, customer)
    assert shown["balance"] == "18.00"
    reverts = [e for e in shown["entries"] if e["type"] == "debit_revert"]
    assert sorted(e["amount"] for e in reverts) == ["1.00", "12.00"]
    # A debit for an order already cancelled (events out of order) is refused.
    late = debit(wallets, customer, "1.00", order_id="BR-7")
    assert late.status == 409
    assert late.body["type"].endswith("order-closed")
    early = OrderCancelledV1(order_id="BR-9", cancelled_at=datetime.now(UTC))
    deliver(_order_event(store_id, "order.cancelled", early))
    assert debit(wallets, customer, "1.00", order_id="BR-9").status == 409
    assert wallet(wallets, customer)["balance"] == "18.00"


def test_a_merge_moves_the_lots_to_the_kept_customer_with_their_expiry(
    wallets: Api, customer: str, store_id: str, deliver: Any
) -> None:
    from clientela.events import OutgoingEvent
    from clientela_events.customers import CustomerMergedV1

    merged = new_customer()
    deliver(sqs_record(created(store_id, merged)))
    grant(wallets, customer, "1.00")
    bonus = grant(wallets, merged, "10.00", expires_at="2098-01-01T00:00:00Z").body["lot"]
    grant(wallets, merged, "4.00")
    debit(wallets, merged, "6.00", order_id="o-m")  # 4.00 left on the bonus lot
    data = CustomerMergedV1(
        merge_id="m-1", kept_id=customer, merged_ids=[merged], merged_at=datetime.now(UTC)
    )
    deleted = sqs_record(deleted_event(store_id, merged))  # may come first
    event = OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, datetime.now(UTC), data)
    again = OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, datetime.now(UTC), data)
    assert deliver(deleted, sqs_record(event), sqs_record(again)) == {"batchItemFailures": []}
    source = wallet(wallets, merged)
    assert source["balance"] == "0.00"
    assert [e["type"] for e in source["entries"][:2]] == ["adjustment", "adjustment"]
    kept = wallet(wallets, customer)
    assert kept["balance"] == "9.00"
    moved = {(lot["kind"], lot["remaining"], lot["expires_at"]) for lot in kept["lots"]}
    assert ("bonus", "4.00", bonus["expires_at"]) in moved
    assert ("bonus", "4.00", None) in moved
    assert all(
        lot["origin"].get("merge") == "m-1" for lot in kept["lots"] if lot["remaining"] == "4.00"
    )


def test_a_debit_racing_its_own_orders_cancellation_is_refused_in_its_transaction(
    wallets: Api, customer: str, store_id: str, deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancellation lands after the debit read the wallet and before it writes: the
    tombstone is checked inside the debit's transaction, so the debit is refused and nothing
    changes (before, it was read ahead of the posting and the debit slipped through, never to
    be reverted)."""
    from chalicelib.credits.ledger.store import LedgerStore
    from clientela_events.storefront import OrderCancelledV1

    grant(wallets, customer, "10.00")
    load = LedgerStore.load
    cancelled = OrderCancelledV1(order_id="BR-RACE", cancelled_at=datetime.now(UTC))

    def load_then_cancel(self: LedgerStore, *args: Any) -> Any:
        state = load(self, *args)
        monkeypatch.setattr(LedgerStore, "load", load)  # the cancellation comes once
        assert deliver(_order_event(store_id, "order.cancelled", cancelled)) == {
            "batchItemFailures": []
        }
        return state

    monkeypatch.setattr(LedgerStore, "load", load_then_cancel)
    raced = debit(wallets, customer, "4.00", order_id="BR-RACE")
    assert raced.status == 409, raced.body
    assert raced.body["type"].endswith("order-closed")
    shown = wallet(wallets, customer)
    assert shown["balance"] == "10.00"
    assert [e["type"] for e in shown["entries"]] == ["credit"]


def test_adjustments_and_merge_outflows_reach_the_customer_timeline(
    wallets: Api, api: Api, store_id: str, deliver: Any, apps: dict[str, Any]
) -> None:
    """credit.adjusted v1 from the table's stream, through the customers inbox, onto the
    timeline: an admin's correction of either sign, and a lot moved out by a merge (the kept
    side is a credit.granted)."""
    from clientela.events import OutgoingEvent
    from clientela_events.customers import CustomerMergedV1

    def customer() -> str:
        made = api.call("POST", "/customers", {"email": f"c{uuid.uuid4().hex[:8]}@ex.com"})
        deliver(sqs_record(created(store_id, made.body["id"])))
        return str(made.body["id"])

    kept, merged = customer(), customer()
    _inbox_events(store_id)
    path = f"/wallets/{merged}/adjustments"
    up = {"amount": "8.00", "currency": "BRL", "note": "goodwill"}
    down = {"amount": "-3.00", "currency": "BRL", "note": "given twice"}
    assert wallets.call("POST", path, up, headers={"Idempotency-Key": "a1"}).status == 201
    assert wallets.call("POST", path, up, headers={"Idempotency-Key": "a1"}).status == 200
    assert wallets.call("POST", path, down, headers={"Idempotency-Key": "a2"}).status == 201
    data = CustomerMergedV1(
        merge_id=f"m-{uuid.uuid4().hex[:6]}",
        kept_id=kept,
        merged_ids=[merged],
        merged_at=datetime.now(UTC),
    )
    merge = OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, datetime.now(UTC), data)
    assert deliver(sqs_record(merge)) == {"batchItemFailures": []}
    publish_changes(apps, store_id)
    publish_changes(apps, store_id)  # a stream batch read again: the same event ids
    delivered = _inbox_events(store_id)
    adjusted = [e["detail"] for e in delivered if e["detail-type"] == "credit.adjusted"]
    shown = sorted(
        (d["data"]["customer_id"], d["data"]["reason"], d["data"]["direction"], d["data"]["amount"])
        for d in adjusted
    )
    assert sorted(set(shown)) == sorted(
        [
            (merged, "admin", "added", "8.00"),
            (merged, "admin", "taken", "3.00"),
            (merged, "merge", "taken", "5.00"),
        ]
    )
    granted = [e["detail"]["data"] for e in delivered if e["detail-type"] == "credit.granted"]
    assert [(g["customer_id"], g["amount"]) for g in granted] == [(kept, "5.00")]
    inbox = sys.modules["chalicelib.customers.inbox"]
    for event in delivered:
        inbox.handle_event(event)
    answer = api.call("GET", f"/customers/{merged}/timeline?kind=credit_adjusted")
    items = {(i["data"]["reason"], i["data"]["direction"]): i["data"] for i in answer.body["items"]}
    assert len(answer.body["items"]) == 3  # each adjustment once, though published twice
    assert items[("admin", "added")]["amount"] == "8.00"
    assert items[("admin", "taken")]["note"] == "given twice"
    assert items[("merge", "taken")]["amount"] == "5.00"
    assert items[("merge", "taken")]["balance_after"] == "0.00"
