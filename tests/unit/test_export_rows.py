"""The owners' export rows carry exactly the columns the exports service makes files of."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chalicelib.credits.extracts.rules import wallet_rows
from chalicelib.credits.ledger.rules import Lot
from chalicelib.credits.ledger.usecases import WalletLots, WalletRowView
from chalicelib.customers.extracts.rules import customer_row, email_row, order_row, report_row
from chalicelib.customers.orders.reports.rules import Row
from chalicelib.customers.orders.rules import LineItem, Order
from chalicelib.customers.profiles.rules import Customer
from chalicelib.exports.exports.rules import COLUMNS

WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _names(kind: str) -> set[str]:
    return {c.name for c in COLUMNS[kind]}


def test_a_customer_row_has_the_customer_columns() -> None:
    customer = Customer(
        id="01JD",
        store_id="s",
        created_at=WHEN,
        updated_at=WHEN,
        version=1,
        email="a@example.com",
        attributes={"postcode": "01310-100"},
        currency="BRL",
        total_spent=Decimal("12.50"),
    )
    row = customer_row(customer)
    assert set(row) == _names("customers")
    assert (row["postcode"], row["total_spent"], row["created_at"]) == (
        "01310-100",
        "12.50",
        WHEN.isoformat(),
    )
    assert set(email_row(customer) or {}) == _names("emails")
    assert (
        email_row(Customer(id="x", store_id="s", created_at=WHEN, updated_at=WHEN, version=1))
        is None
    )


def test_order_and_report_rows_have_their_columns() -> None:
    item = LineItem(product_id="p", sku="s", name="n", quantity=2, unit_price=Decimal("5"))
    order = Order("o1", "a@example.com", WHEN, "BRL", Decimal("10.00"), (item, item))
    row = order_row(order)
    assert set(row) == _names("orders")
    assert row["items"] == 4
    report = Row(
        "a@example.com", "BRL", 2, Decimal("10.00"), "2026-01-01", "2026-02-01", "c1", ["c1"]
    )
    assert set(report_row(report)) == _names("report")


def test_wallet_rows_one_per_live_lot_or_one_without() -> None:
    wallet = WalletRowView("c1", "BRL", Decimal("30"), Decimal("10"), Decimal("0"), WHEN)
    lot = Lot("lot-1", "bonus", Decimal("10"), Decimal("10"), "BRL", WHEN, WHEN, {}, None)
    rows = wallet_rows(WalletLots(wallet, [lot, lot]))
    assert len(rows) == 2 and all(set(r) == _names("wallets") for r in rows)
    assert rows[0]["balance"] == "30.00" and rows[0]["lot_expires_at"] == WHEN.isoformat()
    [alone] = wallet_rows(WalletLots(wallet, []))
    assert set(alone) <= _names("wallets") and "lot_id" not in alone
