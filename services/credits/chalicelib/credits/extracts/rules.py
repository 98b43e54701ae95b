"""Rows of a wallets export: one per live lot of a wallet (its balance repeated), or one with
empty lot columns for a wallet without any; column names as the exports service's COLUMNS."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.credits.ledger.rules import Lot
from chalicelib.credits.ledger.usecases import WalletLots
from clientela import money


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _amount(value: Decimal, currency: str) -> str:
    return money.text(value, currency)


def wallet_rows(found: WalletLots) -> list[dict[str, Any]]:
    wallet = found.wallet
    currency = wallet.currency
    base: dict[str, Any] = {
        "customer_id": wallet.customer_id,
        "currency": currency,
        "balance": _amount(wallet.balance, currency),
        "bonus": _amount(wallet.bonus, currency),
        "cashback": _amount(wallet.cashback, currency),
        "next_expiry": _moment(wallet.next_expiry),
    }
    if not found.lots:
        return [base]
    return [{**base, **_lot(lot, currency)} for lot in found.lots]


def _lot(lot: Lot, currency: str) -> dict[str, Any]:
    return {
        "lot_id": lot.lot_id,
        "lot_kind": lot.kind,
        "lot_amount": _amount(lot.amount, currency),
        "lot_remaining": _amount(lot.remaining, currency),
        "lot_created_at": _moment(lot.created_at),
        "lot_expires_at": _moment(lot.expires_at),
    }
