"""Cashback events of the credits service (source `clientela.credits`).

`cashback.pending` when an order earns a cashback (and again, same shape, when a partial refund
reduces it), `cashback.voided` when a cancellation or refund takes it away before the grant.
The grant itself is a `credit.granted` of kind `cashback`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from clientela.money import Amount, Currency, InCurrency
from clientela_events.credits import SOURCE

__all__ = ["SOURCE", "CashbackV1"]


class CashbackV1(InCurrency):
    """An order's cashback after a step."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    order_id: str = Field(min_length=1, max_length=128)
    amount: Amount = Field(description="The cashback as it stands (0 once fully refunded)")
    currency: Currency
    status: Literal["pending", "voided"]
    reason: str = Field(min_length=1, max_length=64, description="Why it is in this status")
    due_at: datetime = Field(description="When the hold window ends and it would be granted")
    at: datetime
