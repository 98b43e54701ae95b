"""Admin adjustments and the store's per-customer credit limit, against moto."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.credits.ledger.rules import CreditLimit
from tests.service.conftest import Api
from tests.service.test_credits_consumer import deliver, wallets
from tests.service.test_credits_ledger_api import customer, debit, grant, wallet

__all__ = ["customer", "deliver", "wallets"]


def adjust(api: Api, customer_id: str, amount: str, key: str, note: str = "fix") -> Any:
    return api.call(
        "POST",
        f"/wallets/{customer_id}/adjustments",
        {"amount": amount, "currency": "BRL", "note": note},
        headers={"Idempotency-Key": key},
    )


def test_adjustments_add_a_manual_lot_or_take_in_spend_order_never_overdrawing(
    wallets: Api, customer: str
) -> None:
    grant(wallets, customer, "10.00", expires_at="2098-01-01T00:00:00Z")
    grant(wallets, customer, "5.00")
    up = adjust(wallets, customer, "2.50", "a1", note="goodwill")
    assert up.status == 201, up.body
    assert (up.body["entry"]["type"], up.body["entry"]["amount"]) == ("adjustment", "2.50")
    assert up.body["lot"]["kind"] == "manual"
    assert up.body["lot"]["expires_at"] is None
    down = adjust(wallets, customer, "-11.00", "a2")
    assert down.status == 201, down.body
    assert down.body["entry"]["amount"] == "-11.00"
    assert down.body["balance"] == "6.50"
    # Spend order: the expiring lot (10.00) first, then the oldest without expiry.
    assert [t["amount"] for t in down.body["entry"]["lots"]] == ["10.00", "1.00"]
    again = adjust(wallets, customer, "-11.00", "a2")
    assert (again.status, again.body["entry"]) == (200, down.body["entry"])
    assert adjust(wallets, customer, "-11", "a2", note="other").status == 422
    over = adjust(wallets, customer, "-6.51", "a3")
    assert over.status == 409
    assert over.body["type"].endswith("insufficient-credit")
    shown = wallet(wallets, customer)
    assert shown["balance"] == "6.50"
    assert [e["type"] for e in shown["entries"]][:2] == ["adjustment", "adjustment"]
    assert shown["entries"][1]["note"] == "goodwill"


@pytest.mark.parametrize(
    ("body", "sent", "field"),
    [
        ({"amount": "0", "currency": "BRL", "note": "x"}, {"Idempotency-Key": "z"}, "amount"),
        ({"amount": "1.001", "currency": "BRL", "note": "x"}, {"Idempotency-Key": "z"}, "amount"),
        ({"amount": "1", "currency": "BRL", "note": ""}, {"Idempotency-Key": "z"}, "note"),
        ({"amount": "1", "currency": "BRL", "note": "x"}, {}, "Idempotency-Key"),
    ],
)
def test_bad_adjustments_get_422_naming_the_field_and_change_nothing(
    wallets: Api, customer: str, body: dict[str, Any], sent: dict[str, str], field: str
) -> None:
    answer = wallets.call("POST", f"/wallets/{customer}/adjustments", body, headers=sent)
    assert answer.status == 422, answer.body
    assert answer.body["errors"][0]["field"] == field
    assert wallet(wallets, customer)["entries"] == []


def test_the_store_credit_limit_refuses_a_credit_past_it_naming_the_amount(
    wallets: Api, customer: str, store_id: str
) -> None:
    bad = wallets.call("PUT", "/credits/settings", {"credit_limit": "50.001"})
    assert bad.status == 422
    assert bad.body["errors"][0]["field"] == "credit_limit"
    settings = wallets.call("PUT", "/credits/settings", {"credit_limit": "50.00"})
    assert settings.status == 200, settings.body
    assert settings.body["credit_limit"] == "50.00"
    assert grant(wallets, customer, "40.00").status == 201
    refused = grant(wallets, customer, "10.01")
    assert refused.status == 422
    assert refused.body["errors"][0]["field"] == "amount"
    assert "50.00 BRL" in refused.body["errors"][0]["reason"]
    assert "at most 10.00 more" in refused.body["errors"][0]["reason"]
    assert adjust(wallets, customer, "10.01", "up").status == 422
    assert grant(wallets, customer, "10.00").status == 201  # exactly up to the limit
    assert debit(wallets, customer, "5.00").status == 201
    assert adjust(wallets, customer, "5.00", "up2").status == 201
    assert wallet(wallets, customer)["balance"] == "50.00"


def test_concurrent_grants_never_pass_the_limit_together(
    wallets: Api, customer: str, store_id: str
) -> None:
    from chalicelib.credits.ledger import usecases

    assert wallets.call("PUT", "/credits/settings", {"credit_limit": "100.00"}).status == 200

    def give(n: int) -> str:
        try:
            usecases.grant(
                store_id,
                customer,
                kind="manual",
                amount=Decimal("30.00"),
                currency="BRL",
                expires_at=None,
                origin={"admin": "test"},
                note=None,
                key=f"l{n}",
                limited=True,
            )
        except CreditLimit:
            return "refused"
        return "granted"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(give, range(6)))
    assert results.count("granted") == 3
    assert wallet(wallets, customer)["balance"] == "90.00"
