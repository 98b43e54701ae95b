"""Wallet rules that need no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class WalletStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class WalletNotFound(Exception):
    pass


@dataclass(frozen=True)
class Wallet:
    store_id: str
    customer_id: str
    status: WalletStatus
    balance: Decimal
    opened_at: datetime | None
    closed_at: datetime | None
