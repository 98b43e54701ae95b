"""The cashback programme and the store's credits settings against moto."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.credits.programmes import usecases
from chalicelib.credits.publishing import event_for
from clientela.events import OutgoingEvent
from clientela_events.credits import CreditAdjustedV1
from clientela_events.storefront import OrderCancelledV1, OrderRefundedV1
from tests.service.conftest import Api
from tests.service.test_credits_consumer import WHEN, stream_records
from tests.service.test_credits_coupons_api import JOAO, MARIA
from tests.service.test_credits_referrals_api import credits, deliver, offer, placed  # noqa: F401

SETTINGS: dict[str, Any] = {
    "default_currency": "BRL",
    "expiring_lead_days": 5,
    "cashback": {"enabled": True, "percent": "2.5", "hold_window_days": 14, "expiry_days": 90},
}


@pytest.fixture
def programme(credits: Api) -> Any:  # noqa: F811
    answer = credits.call("PUT", "/credits/settings", SETTINGS)
    assert answer.status == 200, answer.body
    return answer.body


def cancelled(store_id: str, order_id: str) -> OutgoingEvent:
    data = OrderCancelledV1(order_id=order_id, cancelled_at=WHEN)
    return OutgoingEvent("order.cancelled", 1, uuid.uuid4(), store_id, WHEN, data)


def refunded(store_id: str, order_id: str, refund_id: str, amount: str | None) -> OutgoingEvent:
    data = OrderRefundedV1(order_id=order_id, refund_id=refund_id, amount=amount, refunded_at=WHEN)
    return OutgoingEvent("order.refunded", 1, uuid.uuid4(), store_id, WHEN, data)


def cashback_of(credits: Api, customer_id: str) -> Any:  # noqa: F811
    answer = credits.call("GET", f"/wallets/{customer_id}/cashback")
    assert answer.status == 200, answer.body
    return answer.body


def test_defaults_until_set_then_if_match(credits: Api) -> None:  # noqa: F811
    first = credits.call("GET", "/credits/settings")
    assert first.body["version"] == 0
    assert first.body["expiring_lead_days"] == 7
    assert first.body["cashback"]["enabled"] is False

    assert credits.call("PUT", "/credits/settings", SETTINGS).status == 200
    assert credits.call("PUT", "/credits/settings", SETTINGS).status == 428
    stale = credits.call("PUT", "/credits/settings", SETTINGS, headers={"If-Match": '"0"'})
    assert stale.status == 412
    ok = credits.call("PUT", "/credits/settings", SETTINGS, headers={"If-Match": '"1"'})
    assert ok.status == 200
    assert ok.body["version"] == 2
    assert credits.call("GET", "/credits/settings").body["cashback"]["percent"] == "2.5"


@pytest.mark.parametrize(
    ("cashback", "field"),
    [
        ({"percent": "0"}, "percent"),
        ({"percent": "100.5"}, "percent"),
        ({"hold_window_days": -1}, "hold_window_days"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    credits: Api,  # noqa: F811
    programme: Any,
    cashback: dict[str, Any],
    field: str,
) -> None:
    body = {**SETTINGS, "cashback": {**SETTINGS["cashback"], **cashback}}
    answer = credits.call("PUT", "/credits/settings", body, headers={"If-Match": "*"})
    assert answer.status == 422, answer.body
    assert any(field in e["field"] for e in answer.body["errors"])
    assert credits.call("GET", "/credits/settings").body == programme


def test_placed_pending_then_granted_after_the_window(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    event = placed(store_id, MARIA, "BR-1")
    offer(event)
    offer(event)  # redelivered
    body = cashback_of(credits, MARIA)
    assert body["pending"] == "2.50"
    [item] = body["items"]
    assert (item["status"], item["amount"]) == ("pending", "2.50")

    assert usecases.grant_due(WHEN + timedelta(days=13))["granted"] == 0
    assert usecases.grant_due(WHEN + timedelta(days=14))["granted"] == 1
    assert usecases.grant_due(WHEN + timedelta(days=15))["granted"] == 0
    [item] = cashback_of(credits, MARIA)["items"]
    assert item["status"] == "granted"
    wallet = credits.call("GET", f"/wallets/{MARIA}").body
    assert wallet["balance"] == "2.50"

    offer(cancelled(store_id, "BR-1"))  # after the grant: taken back from the granted lot
    [item] = cashback_of(credits, MARIA)["items"]
    assert (item["status"], item["clawed_back"], item["uncollectable"]) == (
        "granted",
        "2.50",
        "0.00",
    )
    assert credits.call("GET", f"/wallets/{MARIA}").body["balance"] == "0.00"


def test_cancelled_in_the_window_voids_even_when_it_comes_first(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    offer(placed(store_id, MARIA, "BR-1"))
    offer(cancelled(store_id, "BR-1"))
    offer(cancelled(store_id, "BR-2"))
    offer(placed(store_id, JOAO, "BR-2"))

    for customer in (MARIA, JOAO):
        [item] = cashback_of(credits, customer)["items"]
        assert (item["status"], item["reason"]) == ("voided", "order-cancelled")
    assert usecases.grant_due(WHEN + timedelta(days=30))["granted"] == 0


def test_a_partial_refund_reduces_it_once(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    offer(placed(store_id, MARIA, "BR-1"))
    event = refunded(store_id, "BR-1", "RF-1", "40.00")
    offer(event)
    offer(event)
    [item] = cashback_of(credits, MARIA)["items"]
    assert (item["status"], item["amount"], item["refunded"]) == ("pending", "1.50", "40.00")
    offer(refunded(store_id, "BR-1", "RF-2", None))
    [item] = cashback_of(credits, MARIA)["items"]
    assert (item["status"], item["reason"]) == ("voided", "order-refunded")


def test_guests_other_currencies_and_disabled_programmes_get_nothing(
    credits: Api,  # noqa: F811
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    offer(placed(store_id, MARIA, "BR-0"))  # no programme yet
    assert cashback_of(credits, MARIA)["items"] == []
    body = {**SETTINGS, "default_currency": "USD"}
    assert credits.call("PUT", "/credits/settings", body).status == 200
    offer(placed(store_id, MARIA, "BR-1"))
    [item] = cashback_of(credits, MARIA)["items"]
    assert (item["status"], item["reason"]) == ("voided", "other-currency")
    assert credits.call("GET", f"/wallets/{uuid.uuid4().hex}/cashback").status == 404


def test_the_ledger_takes_the_store_s_default_currency(credits: Api) -> None:  # noqa: F811
    assert credits.call("GET", f"/wallets/{MARIA}").body["currency"] == "BRL"
    assert credits.call("PUT", "/credits/settings", {"default_currency": "USD"}).status == 200
    assert credits.call("GET", f"/wallets/{MARIA}").body["currency"] == "USD"
    assert credits.call("GET", "/credits/summary").body["currency"] == "USD"


def test_a_refund_racing_the_grant_leaves_it_granted_once(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    store_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offer(placed(store_id, MARIA, "BR-1"))
    store = usecases.programme_store()
    real = type(store).replace
    # The job's write after the grant loses to a refund that came in between.
    monkeypatch.setattr(type(store), "replace", lambda _self, _cashback: False)
    assert usecases.grant_due(WHEN + timedelta(days=14))["granted"] == 1
    monkeypatch.setattr(type(store), "replace", real)
    offer(refunded(store_id, "BR-1", "RF-1", "40.00"))

    assert usecases.grant_due(WHEN + timedelta(days=15)) == {
        "granted": 1,
        "voided": 0,
        "failed": 0,
    }
    [item] = cashback_of(credits, MARIA)["items"]
    assert item["status"] == "granted"
    assert credits.call("GET", f"/wallets/{MARIA}").body["balance"] == "2.50"
    assert usecases.grant_due(WHEN + timedelta(days=16))["granted"] == 0


def test_a_late_refund_takes_back_what_is_left_of_the_granted_lot_never_overdrawing(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    offer(placed(store_id, MARIA, "BR-1"))  # total 100.00: 2.50 of cashback
    assert usecases.grant_due(WHEN + timedelta(days=14))["granted"] >= 1
    bonus = {"kind": "bonus", "amount": "5.00", "currency": "BRL"}
    headers = {"Idempotency-Key": "other-lot"}
    assert credits.call("POST", f"/wallets/{MARIA}/credits", bonus, headers=headers).status == 201
    # 40% refunded: the order now earns 1.50, so 1.00 is owed back, from the cashback lot only.
    offer(refunded(store_id, "BR-1", "RF-1", "40.00"))
    shown = credits.call("GET", f"/wallets/{MARIA}").body
    assert shown["balance"] == "6.50"
    cashback_lot = next(lot for lot in shown["lots"] if lot["kind"] == "cashback")
    assert cashback_lot["remaining"] == "1.50"
    # The customer spends from the cashback lot (it is the oldest without expiry)...
    spent = {"amount": "1.20", "currency": "BRL"}
    headers = {"Idempotency-Key": "spend"}
    assert credits.call("POST", f"/wallets/{MARIA}/debits", spent, headers=headers).status == 201
    # ...then the rest is refunded: 1.50 more is owed, only 0.30 is left of the lot.
    rest = refunded(store_id, "BR-1", "RF-2", "60.00")
    offer(rest)
    offer(rest)  # redelivered: nothing twice
    [item] = cashback_of(credits, MARIA)["items"]
    assert (item["clawed_back"], item["uncollectable"]) == ("1.30", "1.20")
    shown = credits.call("GET", f"/wallets/{MARIA}").body
    assert shown["balance"] == "5.00"  # the other lot untouched, never below zero
    adjustments = [e for e in shown["entries"] if e["type"] == "adjustment"]
    assert sorted(e["amount"] for e in adjustments) == ["-0.30", "-1.00"]
    # Announced as credit.adjusted (clawback) from the table's stream, for the timeline.
    events = [event_for(record) for record in stream_records(store_id)]
    announced = {
        (e.data.reason, e.data.direction, str(e.data.amount), e.data.kind)
        for e in events
        if e is not None and isinstance(e.data, CreditAdjustedV1) and e.data.customer_id == MARIA
    }
    assert announced == {
        ("clawback", "taken", "1.00", "cashback"),
        ("clawback", "taken", "0.30", "cashback"),
    }


def test_a_merge_moves_pending_cashbacks_and_unused_coupons_to_the_kept_customer(
    credits: Api,  # noqa: F811
    programme: Any,
    offer: Any,  # noqa: F811
    deliver: Any,  # noqa: F811
    store_id: str,
) -> None:
    from datetime import UTC, datetime

    from clientela_events.customers import CustomerMergedV1
    from tests.service.test_credits_consumer import sqs_record

    offer(placed(store_id, MARIA, "BR-M"))
    for code in ("MERGE-LEFT", "MERGE-USED"):
        made = credits.call("POST", f"/customers/{MARIA}/coupons", {"code": code, "percentage": 5})
        assert made.status == 201, made.body
    used = {"order_id": "BR-U", "customer_id": MARIA, "subtotal": "10.00", "currency": "BRL"}
    assert credits.call("POST", "/coupons/MERGE-USED/redemptions", used).status == 201
    data = CustomerMergedV1(
        merge_id="m-9", kept_id=JOAO, merged_ids=[MARIA], merged_at=datetime.now(UTC)
    )
    merged = OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, WHEN, data)
    again = OutgoingEvent("customer.merged", 1, uuid.uuid4(), store_id, WHEN, data)
    assert deliver(sqs_record(merged), sqs_record(again)) == {"batchItemFailures": []}

    [left] = cashback_of(credits, MARIA)["items"]
    assert (left["status"], left["reason"]) == ("voided", "customer-merged")
    kept = cashback_of(credits, JOAO)
    assert (kept["pending"], kept["items"][0]["order_id"]) == ("2.50", "BR-M")
    codes = {c["code"] for c in credits.call("GET", f"/customers/{JOAO}/coupons").body["items"]}
    assert codes == {"MERGE-LEFT"}
    stays = credits.call("GET", f"/customers/{MARIA}/coupons").body["items"]
    assert [c["code"] for c in stays] == ["MERGE-USED"]
    # The order's later cancellation finds the cashback under the kept customer.
    offer(cancelled(store_id, "BR-M"))
    [item] = cashback_of(credits, JOAO)["items"]
    assert (item["status"], item["reason"]) == ("voided", "order-cancelled")
