"""Coupons for one customer, against moto: making them, redeeming them atomically, reverting."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from clientela.events import OutgoingEvent
from clientela_events.storefront import OrderCancelledV1
from clientela_local.lambda_context import new_context
from tests.conftest import token_for
from tests.service.conftest import Api
from tests.service.test_credits_consumer import WHEN, created, deleted, sqs_record

MARIA = "01JD50000000000000000000MA"
JOAO = "01JD50000000000000000000J0"
FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()


@pytest.fixture
def deliver(apps: dict[str, Any]) -> Any:
    def run(*records: dict[str, Any]) -> Any:
        context = new_context(
            "clientela-credits", "on_customer_event", region="us-east-1", account="123456789012"
        )
        return apps["credits"].on_customer_event({"Records": list(records)}, context)

    return run


@pytest.fixture
def credits_client(apps: dict[str, Any]) -> Any:
    with Client(apps["credits"].app) as client:
        yield client


@pytest.fixture
def credits(credits_client: Client, headers: dict[str, str], deliver: Any, store_id: str) -> Api:
    """The credits API of a store whose customers Maria and João have wallets."""
    deliver(sqs_record(created(store_id, MARIA)), sqs_record(created(store_id, JOAO)))
    return Api(credits_client, headers)


def coupon(credits: Api, **fields: Any) -> Any:
    answer = credits.call("POST", "/coupons", {"customer_id": MARIA, **fields})
    assert answer.status == 201, answer.body
    return answer.body


def redeem(credits: Api, code: str, **fields: Any) -> Any:
    body = {"order_id": "BR-1", "customer_id": MARIA, "subtotal": "150.00", "currency": "BRL"}
    return credits.call("POST", f"/coupons/{code}/redemptions", {**body, **fields})


def test_a_generated_coupon_is_single_use_and_unambiguous(credits: Api) -> None:
    body = coupon(credits, percentage=10)

    assert len(body["code"]) == 10
    assert not set(body["code"]) & set("01OIL")
    assert body["usage_limit"] == 1
    assert body["remaining_uses"] == 1
    assert body["kind"] == "percentage"
    assert credits.call("GET", f"/coupons/{body['code'].lower()}").body == body


def test_a_chosen_code_is_unique_in_the_store(credits: Api) -> None:
    coupon(credits, code="maria-10", percentage=10)

    again = credits.call(
        "POST",
        "/coupons",
        {"customer_id": JOAO, "code": "MARIA-10", "amount": 5, "currency": "BRL"},
    )

    assert again.status == 409
    assert again.body["type"].endswith("/coupon-code-taken")
    assert again.body["errors"][0]["field"] == "code"
    assert credits.call("GET", f"/coupons?customer_id={JOAO}").body == {"items": []}


def test_the_same_code_in_another_store_is_another_coupon(
    credits: Api, credits_client: Client
) -> None:
    coupon(credits, code="SHARED-CODE", percentage=10)
    other = Api(
        credits_client,
        {
            "authorization": f"Bearer {token_for('store-other-coupons')}",
            "content-type": "application/json",
        },
    )

    assert other.call("GET", "/coupons/SHARED-CODE").status == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"percentage": 0}, "percentage"),
        ({"percentage": 101}, "percentage"),
        ({"amount": "10.001", "currency": "BRL"}, "amount"),
        ({"amount": "-5", "currency": "BRL"}, "amount"),
        ({"amount": "5"}, "currency"),
        ({"percentage": 10, "amount": "5", "currency": "BRL"}, "percentage"),
        ({}, "amount"),
        ({"percentage": 10, "minimum_order": "50"}, "currency"),
        ({"percentage": 10, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"percentage": 10, "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"percentage": 10, "usage_limit": 0}, "usage_limit"),
        ({"percentage": 10, "code": "no spaces"}, "code"),
        ({"percentage": 10, "currency": "XXX"}, "currency"),
        ({"percentage": 10, "customer_id": "01JD50000000000000000000ZZ"}, "customer_id"),
        ({"percentage": 10, "customer_id": "not-an-id"}, "customer_id"),
        ({"percentage": 10, "surprise": True}, "surprise"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    credits: Api, fields: dict[str, Any], field: str
) -> None:
    answer = credits.call("POST", "/coupons", {"customer_id": MARIA, "code": "BAD-ONE", **fields})

    assert answer.status == 422, answer.body
    assert field in [error["field"] for error in answer.body["errors"]]
    assert credits.call("GET", "/coupons/BAD-ONE").status == 404


def test_a_deleted_customer_gets_no_coupon(credits: Api, deliver: Any, store_id: str) -> None:
    deliver(sqs_record(deleted(store_id, JOAO)))

    answer = credits.call("POST", "/coupons", {"customer_id": JOAO, "percentage": 10})

    assert answer.status == 422
    assert answer.body["errors"][0]["field"] == "customer_id"


def test_a_customer_s_coupons_are_listed_newest_first(credits: Api) -> None:
    first = coupon(credits, percentage=10)
    second = coupon(credits, amount="20", currency="BRL", usage_limit=3)
    coupon(credits, customer_id=JOAO, percentage=5)

    listed = credits.call("GET", f"/coupons?customer_id={MARIA}").body["items"]

    assert [c["code"] for c in listed] == [second["code"], first["code"]]
    assert listed[0]["amount"] == "20.00"


def test_a_percentage_coupon_answers_the_discount_rounded_down(credits: Api) -> None:
    code = coupon(credits, percentage=15)["code"]

    answer = redeem(credits, code, subtotal="99.99")

    assert answer.status == 201, answer.body
    assert answer.body["discount"] == "14.99"  # 14.9985 never rounds up
    assert answer.body["status"] == "redeemed"
    assert credits.call("GET", f"/coupons/{code}").body["remaining_uses"] == 0


def test_a_fixed_coupon_never_takes_more_than_the_order(credits: Api) -> None:
    code = coupon(credits, amount="50", currency="BRL", usage_limit=2)["code"]

    assert redeem(credits, code, order_id="BR-1", subtotal="80").body["discount"] == "50.00"
    assert redeem(credits, code, order_id="BR-2", subtotal="30.5").body["discount"] == "30.50"


def test_a_yen_coupon_has_no_decimals(credits: Api) -> None:
    code = coupon(credits, percentage=33)["code"]

    answer = redeem(credits, code, subtotal="1000", currency="JPY")

    assert answer.body["discount"] == "330"
    assert (
        redeem(
            credits, coupon(credits, percentage=5)["code"], subtotal="10.5", currency="JPY"
        ).status
        == 422
    )


@pytest.mark.parametrize(
    ("fields", "slug", "field"),
    [
        ({"customer_id": JOAO}, "coupon-not-applicable", "customer_id"),
        ({"subtotal": "99.99"}, "coupon-not-applicable", "subtotal"),
        ({"currency": "EUR"}, "coupon-not-applicable", "currency"),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_and_keeps_its_use(
    credits: Api, fields: dict[str, Any], slug: str, field: str
) -> None:
    code = coupon(credits, amount="10", currency="BRL", minimum_order="100")["code"]

    answer = redeem(credits, code, **fields)

    assert answer.status == 422
    assert answer.body["type"].endswith(slug)
    assert answer.body["errors"][0]["field"] == field
    assert credits.call("GET", f"/coupons/{code}").body["uses"] == 0


def test_an_expired_coupon_is_refused(credits: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.credits.coupons import usecases

    code = coupon(credits, percentage=10, expires_at=FUTURE)["code"]
    monkeypatch.setattr(usecases, "now", lambda: datetime.now(UTC) + timedelta(days=31))

    answer = redeem(credits, code)

    assert answer.status == 422
    assert answer.body["type"].endswith("/coupon-expired")


def test_a_used_up_coupon_is_409(credits: Api) -> None:
    code = coupon(credits, percentage=10)["code"]
    redeem(credits, code, order_id="BR-1")

    answer = redeem(credits, code, order_id="BR-2")

    assert answer.status == 409
    assert answer.body["type"].endswith("/coupon-used-up")


def test_redeeming_is_idempotent_per_order(credits: Api) -> None:
    code = coupon(credits, percentage=10, usage_limit=5)["code"]
    first = redeem(credits, code)

    again = redeem(credits, code)
    other = redeem(credits, code, subtotal="200.00")

    assert again.status == 200
    assert again.body == first.body
    assert other.status == 409
    assert other.body["type"].endswith("/redemption-conflict")
    assert credits.call("GET", f"/coupons/{code}").body["uses"] == 1


def redeem_concurrently(store_id: str, code: str, attempts: int) -> list[str]:
    """Redemptions of the coupon on `attempts` orders at once, straight through the use case.

    Threads call the use case, not the Chalice test client: the client keeps one current
    request per app, which concurrent calls would overwrite (Lambda runs one request per
    process, so the race that matters is DynamoDB's, and that is what this exercises).
    """
    from decimal import Decimal

    from chalicelib.credits.coupons import usecases
    from chalicelib.credits.coupons.store import UsedUp

    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []

    def attempt(order_id: str) -> None:
        barrier.wait()
        try:
            _, new = usecases.redeem(
                store_id,
                code,
                order_id=order_id,
                customer_id=MARIA,
                subtotal=Decimal("150.00"),
                currency="BRL",
            )
            outcomes.append("redeemed" if new else "replayed")
        except UsedUp:
            outcomes.append("used-up")

    threads = [threading.Thread(target=attempt, args=(f"BR-{n}",)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_two_concurrent_redemptions_of_a_single_use_coupon_one_wins(
    credits: Api, store_id: str
) -> None:
    code = coupon(credits, percentage=10)["code"]

    assert redeem_concurrently(store_id, code, 2) == ["redeemed", "used-up"]
    assert credits.call("GET", f"/coupons/{code}").body["uses"] == 1


def test_many_concurrent_redemptions_never_pass_the_limit(credits: Api, store_id: str) -> None:
    code = coupon(credits, percentage=10, usage_limit=3)["code"]

    assert redeem_concurrently(store_id, code, 8) == ["redeemed"] * 3 + ["used-up"] * 5
    assert credits.call("GET", f"/coupons/{code}").body["uses"] == 3


def test_a_reverted_redemption_gives_the_use_back_once(credits: Api) -> None:
    code = coupon(credits, percentage=10)["code"]
    redeem(credits, code, order_id="BR-1")

    first = credits.call("DELETE", f"/coupons/{code}/redemptions/BR-1")
    second = credits.call("DELETE", f"/coupons/{code}/redemptions/BR-1")

    assert first.status == 200
    assert first.body["status"] == "reverted"
    assert second.body == first.body
    assert credits.call("GET", f"/coupons/{code}").body["remaining_uses"] == 1
    assert redeem(credits, code, order_id="BR-2").status == 201


def test_reverting_an_unknown_redemption_is_404(credits: Api) -> None:
    code = coupon(credits, percentage=10)["code"]

    assert credits.call("DELETE", f"/coupons/{code}/redemptions/BR-404").status == 404
    assert (
        credits.call(
            "POST",
            "/coupons/NOPE-NOPE/redemptions",
            {"order_id": "BR-1", "customer_id": MARIA, "subtotal": "1", "currency": "BRL"},
        ).status
        == 404
    )


def cancelled(store_id: str, order_id: str) -> OutgoingEvent:
    data = OrderCancelledV1(order_id=order_id, cancelled_at=WHEN)
    return OutgoingEvent("order.cancelled", 1, uuid.uuid4(), store_id, WHEN, data)


@pytest.fixture
def deliver_order_event(apps: dict[str, Any]) -> Any:
    def run(*records: dict[str, Any]) -> Any:
        context = new_context(
            "clientela-credits", "on_offer_event", region="us-east-1", account="123456789012"
        )
        return apps["credits"].on_offer_event({"Records": list(records)}, context)

    return run


def test_a_cancelled_order_gives_its_coupons_back_once(
    credits: Api, deliver_order_event: Any, store_id: str
) -> None:
    single = coupon(credits, percentage=10)["code"]
    multi = coupon(credits, amount="5", currency="BRL", usage_limit=2)["code"]
    redeem(credits, single, order_id="BR-9")
    redeem(credits, multi, order_id="BR-9")
    redeem(credits, multi, order_id="BR-10")
    event = sqs_record(cancelled(store_id, "BR-9"))

    assert deliver_order_event(event) == {"batchItemFailures": []}
    deliver_order_event(event)  # redelivered

    assert credits.call("GET", f"/coupons/{single}").body["uses"] == 0
    assert credits.call("GET", f"/coupons/{multi}").body["uses"] == 1
    reverted = credits.call("DELETE", f"/coupons/{single}/redemptions/BR-9").body
    assert reverted["status"] == "reverted"


def test_another_store_s_cancellation_reverts_nothing(
    credits: Api, deliver_order_event: Any
) -> None:
    code = coupon(credits, percentage=10)["code"]
    redeem(credits, code, order_id="BR-11")

    deliver_order_event(sqs_record(cancelled("store-elsewhere", "BR-11")))

    assert credits.call("GET", f"/coupons/{code}").body["uses"] == 1


def test_a_customer_s_coupons_under_the_customer_s_path(credits: Api) -> None:
    """`/customers/{id}/coupons` (the edge sends it to credits), the customer in the path."""
    made = credits.call(
        "POST", f"/customers/{MARIA}/coupons", {"code": "path-10", "percentage": 10}
    )
    assert made.status == 201, made.body
    assert (made.body["code"], made.body["customer_id"]) == ("PATH-10", MARIA)
    assert made.headers["location"] == "/coupons/PATH-10"
    listed = credits.call("GET", f"/customers/{MARIA}/coupons").body["items"]
    assert [c["code"] for c in listed] == ["PATH-10"]
    assert credits.call("GET", f"/coupons?customer_id={MARIA}").body["items"] == listed
    unknown = "01JD50000000000000000000ZZ"
    assert credits.call("POST", f"/customers/{unknown}/coupons", {"percentage": 5}).status == 404
    assert credits.call("GET", f"/customers/{unknown}/coupons").status == 404
    named = credits.call(
        "POST", f"/customers/{MARIA}/coupons", {"customer_id": JOAO, "percentage": 5}
    )
    assert named.status == 422
    assert named.body["errors"][0]["field"] == "customer_id"
    assert credits.call("GET", f"/customers/{JOAO}/coupons").body["items"] == []
