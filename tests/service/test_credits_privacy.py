"""The credits service's part of privacy requests against moto (chalicelib.credits.privacy)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client

from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.privacy_support import answers, read_part, request, requested, sqs_record
from tests.service.test_credits_consumer import created
from tests.service.test_credits_consumer import sqs_record as customer_record
from tests.service.test_credits_referrals_api import PROGRAMME

__all__ = ["answers"]  # the fixture

ANA = "01JD60000000000000000000AN"
BIA = "01JD60000000000000000000B1"


@pytest.fixture
def credits(apps: dict[str, Any], headers: dict[str, str], store_id: str) -> Any:
    context = new_context(
        "clientela-credits", "on_customer_event", region="us-east-1", account="123456789012"
    )
    records = [customer_record(created(store_id, ANA)), customer_record(created(store_id, BIA))]
    apps["credits"].on_customer_event({"Records": records}, context)
    with Client(apps["credits"].app) as client:
        yield Api(client, headers)


def _deliver(apps: dict[str, Any], *bodies: dict[str, Any]) -> Any:
    records = [sqs_record(body, "clientela-credits-offer-events") for body in bodies]
    context = new_context(
        "clientela-credits", "on_offer_event", region="us-east-1", account="123456789012"
    )
    return apps["credits"].on_offer_event({"Records": records}, context)


def _ana_with_everything(credits: Api) -> str:
    """Ana: a bonus with a note, a debit, a referrer code with a friend, a coupon."""
    grant = credits.call(
        "POST",
        f"/wallets/{ANA}/credits",
        {"kind": "bonus", "amount": "30.00", "currency": "BRL", "note": "Ana asked by phone"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert grant.status == 201, grant.body
    spent = credits.call(
        "POST",
        f"/wallets/{ANA}/debits",
        {"amount": "10.00", "currency": "BRL", "order_id": "BR-9"},
    )
    assert spent.status == 201, spent.body
    assert credits.call("PUT", "/referrals/programme", PROGRAMME).status == 200
    enrolled = credits.call("POST", "/referrers", {"customer_id": ANA, "ip": "203.0.113.7"})
    assert enrolled.status == 201, enrolled.body
    code = str(enrolled.body["code"])
    coupon = credits.call("POST", "/coupons", {"customer_id": ANA, "percentage": 10})
    assert coupon.status == 201, coupon.body
    return code


def test_access_part_holds_wallet_lots_ledger_referrer_and_coupons(
    apps: Any, credits: Api, store_id: str, answers: Any
) -> None:
    code = _ana_with_everything(credits)
    data = request(store_id, ANA)
    assert _deliver(apps, requested(store_id, data)) == {"batchItemFailures": []}
    [event] = answers()
    assert event["detail-type"] == "privacy.contributed"
    assert event["source"] == "clientela.credits"
    part = read_part(event["detail"]["data"]["part_key"])
    [balance] = part["balances"]
    assert (balance["currency"], Decimal(balance["balance"])) == ("BRL", Decimal("20.00"))
    assert [lot["note"] for lot in part["lots"]] == ["Ana asked by phone"]
    assert sorted(e["type"] for e in part["ledger"]) == ["credit", "debit"]
    assert part["referrer"]["code"] == code
    assert [c["percentage"] for c in part["coupons"]] == [10]
    assert part["wallet"]["status"] == "open"


def test_erasure_keeps_the_sums_disables_the_code_voids_coupons_and_is_idempotent(
    apps: Any, credits: Api, store_id: str, answers: Any
) -> None:
    code = _ana_with_everything(credits)
    coupon_code = credits.call("GET", f"/coupons?customer_id={ANA}").body["items"][0]["code"]
    before = credits.call("GET", f"/wallets/{ANA}").body
    body = requested(store_id, request(store_id, ANA, "erasure"))

    assert _deliver(apps, body) == {"batchItemFailures": []}
    assert _deliver(apps, body) == {"batchItemFailures": []}

    first, again = answers()
    assert first["detail"]["data"]["erased"] == {
        "notes_removed": 2,  # the lot's and its credit entry's
        "referral_codes_disabled": 1,
        "coupons_voided": 1,
    }
    assert again["detail"]["data"]["erased"]["coupons_voided"] == 0
    assert first["detail"]["metadata"]["event_id"] == again["detail"]["metadata"]["event_id"]
    after = credits.call("GET", f"/wallets/{ANA}").body
    assert after["balance"] == before["balance"]
    assert [e["balance_after"] for e in after["entries"]] == [
        e["balance_after"] for e in before["entries"]
    ]
    assert "Ana asked" not in json.dumps(after)
    refused = credits.call("POST", "/referrals", {"code": code, "customer_id": BIA})
    assert refused.status == 422, refused.body
    redeemed = credits.call(
        "POST",
        f"/coupons/{coupon_code}/redemptions",
        {"order_id": "BR-10", "customer_id": ANA, "subtotal": "100.00", "currency": "BRL"},
    )
    assert redeemed.status == 409, redeemed.body
