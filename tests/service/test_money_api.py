"""Money through the customers API: one representation everywhere (issue 6, item 2).

Every amount an answer carries is a decimal string with exactly its currency's minor units
("100.00" BRL, "1250" JPY, "1.500" KWD), whatever DynamoDB kept of it (numbers lose their
trailing zeros there).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clientela_events.credits import CreditGrantedV1
from clientela_events.storefront import OrderRefundedV1
from tests.service.conftest import Api
from tests.service.test_orders_api import deliver, deliver_to_inbox, line, order, record

__all__ = ["deliver"]  # the fixture, shared with the orders tests

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def profile(api: Api, customer_id: str) -> dict[str, Any]:
    answer = api.call("GET", f"/customers/{customer_id}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def one_order(api: Api, currency: str, total: Any, unit_price: Any, email: str) -> str:
    (result,) = record(
        api,
        order(
            f"{currency}-1",
            email,
            currency=currency,
            total=total,
            items=[line(unit_price=unit_price)],
        ),
    )
    assert result["result"] == "created", result
    return str(result["customer_id"])


def test_an_order_of_100_00_brl_gives_100_00_everywhere(api: Api, store_id: str) -> None:
    customer_id = one_order(api, "BRL", "100.00", "100.00", "ana.brl@example.com.br")

    shown = profile(api, customer_id)
    assert (shown["total_spent"], shown["average_order_value"], shown["currency"]) == (
        "100.00",
        "100.00",
        "BRL",
    )
    (listed,) = api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    assert (listed["total"], listed["refunded_total"], listed["items"][0]["unit_price"]) == (
        "100.00",
        "0.00",
        "100.00",
    )
    (entry,) = api.call("GET", f"/customers/{customer_id}/timeline?kind=purchased").body["items"]
    assert (entry["data"]["total"], entry["data"]["currency"]) == ("100.00", "BRL")


def test_yen_have_no_decimals_and_dinars_three(api: Api, store_id: str) -> None:
    yen = one_order(api, "JPY", 1250, "1250", "kenji@example.jp")
    dinar = one_order(api, "KWD", 1.5, "1.5", "fahad@example.com.kw")

    assert (profile(api, yen)["total_spent"], profile(api, yen)["average_order_value"]) == (
        "1250",
        "1250",
    )
    assert (profile(api, dinar)["total_spent"], profile(api, dinar)["average_order_value"]) == (
        "1.500",
        "1.500",
    )
    (listed,) = api.call("GET", f"/customers/{dinar}/orders").body["items"]
    assert (listed["total"], listed["items"][0]["unit_price"]) == ("1.500", "1.500")
    # Timeline entries: strings, never a JSON number (1250 used to come back as one).
    (entry,) = api.call("GET", f"/customers/{yen}/timeline?kind=purchased").body["items"]
    assert entry["data"]["total"] == "1250"


def test_the_average_is_rounded_half_even_to_the_minor_units(api: Api, store_id: str) -> None:
    email = "three.orders@example.es"
    results = record(
        api,
        *[
            order(f"AVG-{n}", email, currency="KWD", total=total, items=[line(unit_price=total)])
            for n, total in enumerate(("10.000", "10.000", "10.001"))
        ],
    )
    shown = profile(api, results[0]["customer_id"])
    assert (shown["total_spent"], shown["average_order_value"]) == ("30.001", "10.000")


def test_more_decimals_than_the_currency_has_are_422_naming_the_field(
    api: Api, store_id: str
) -> None:
    cases = [
        (order("X-1", currency="JPY", total="1250.5"), "orders.0.total"),
        (
            order("X-2", currency="BRL", items=[line(unit_price="69.955")]),
            "orders.0.items.0.unit_price",
        ),
        (order("X-3", total=0.1 + 0.2), "orders.0.total"),  # a float's binary noise
        (order("X-4", currency="XYZ"), "orders.0.currency"),
    ]
    for body, field in cases:
        answer = api.call("POST", "/orders", {"orders": [body]})
        assert answer.status == 422, answer.body
        assert field in [e["field"] for e in answer.body["errors"]], answer.body
    nothing = api.call("GET", "/customers?q=lucia.perez@example.es").body["items"]
    assert nothing == []


def test_report_amounts_have_the_currency_scale(api: Api, store_id: str) -> None:
    email = "report.scale@example.es"
    record(
        api,
        *[
            order(
                f"R-{n}",
                email,
                placed_at=(T0 + timedelta(days=n)).isoformat(),
                total=total,
                items=[line(unit_price=total)],
            )
            for n, total in enumerate(("100.00", "59.90"))
        ],
    )
    for report in ("sales-by-customer", "purchase-frequency"):
        answer = api.call("GET", f"/reports/{report}?from=2026-03-01&to=2026-03-31")
        assert answer.status == 200, answer.body
        (row,) = answer.body["items"]
        assert (row["amount"], row["currency"]) == ("159.90", "EUR")


def test_refund_and_credit_entries_are_money_strings(api: Api, store_id: str, deliver: Any) -> None:
    customer_id = one_order(api, "EUR", "100.00", "100.00", "refunds@example.es")
    deliver(
        "order.refunded",
        OrderRefundedV1(
            order_id="EUR-1", refund_id="RF-1", amount=Decimal("30"), refunded_at=T0 + timedelta(1)
        ),
    )
    deliver_to_inbox(
        store_id,
        "credit.granted",
        CreditGrantedV1(
            customer_id=customer_id,
            entry_id="cr-1",
            kind="referral",
            amount=Decimal("20"),
            currency="BRL",
            balance_after=Decimal("35.5"),
        ),
    )
    items = api.call("GET", f"/customers/{customer_id}/timeline").body["items"]
    data = {item["kind"]: item["data"] for item in items}
    assert data["order_refunded"]["amount"] == "30.00"
    assert (data["credit_granted"]["amount"], data["credit_granted"]["balance_after"]) == (
        "20.00",
        "35.50",
    )
    shown = profile(api, customer_id)
    assert (shown["total_spent"], shown["average_order_value"]) == ("70.00", "70.00")
    (listed,) = api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    assert listed["refunded_total"] == "30.00"


def test_a_refund_finer_than_the_currency_is_dropped(api: Api, store_id: str, deliver: Any) -> None:
    customer_id = one_order(api, "JPY", "1000", "1000", "fine.refund@example.jp")
    deliver(
        "order.refunded",
        OrderRefundedV1(order_id="JPY-1", refund_id="RF-1", amount=Decimal("0.5"), refunded_at=T0),
    )
    assert profile(api, customer_id)["total_spent"] == "1000"
    (listed,) = api.call("GET", f"/customers/{customer_id}/orders").body["items"]
    assert listed["refunded_total"] == "0"


def test_a_customer_without_orders_has_no_currency(api: Api, store_id: str) -> None:
    created = api.call("POST", "/customers", {"email": "no.orders@example.es"})
    assert (created.body["total_spent"], created.body["currency"]) == ("0", None)
    assert created.body["average_order_value"] is None


def test_a_merge_brings_the_currency_with_the_orders(api: Api, store_id: str) -> None:
    kept = api.call("POST", "/customers", {"email": "kept.yen@example.jp"}).body["id"]
    merged = one_order(api, "JPY", "1250", "1250", "other.yen@example.jp")

    answer = api.call("POST", "/customers/merge", {"keep_id": kept, "merge_ids": [merged]})

    assert answer.status == 200, answer.body
    shown = profile(api, kept)
    assert (shown["total_spent"], shown["average_order_value"], shown["currency"]) == (
        "1250",
        "1250",
        "JPY",
    )
