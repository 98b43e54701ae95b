"""Events of the credits service (source `clientela.credits`): movements of a customer's wallet.

Amounts are `clientela.money`'s: decimal strings with the minor units of the currency named.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from clientela.money import Amount, Currency, InCurrency

SOURCE = "clientela.credits"

CreditKind = Literal["referral", "bonus", "cashback", "refund", "manual"]


class CreditGrantedV1(InCurrency):
    """Credit was added to a customer's wallet."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    kind: CreditKind
    amount: Amount = Field(gt=0)
    currency: Currency
    expires_at: datetime | None = Field(default=None, description="When unspent credit lapses.")
    balance_after: Amount


class CreditSpentV1(InCurrency):
    """A customer paid with credit."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    amount: Amount = Field(gt=0)
    currency: Currency
    order_id: str | None = Field(default=None, max_length=128)
    balance_after: Amount


class CreditExpiredV1(InCurrency):
    """Unspent credit lapsed."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    amount: Amount = Field(gt=0)
    currency: Currency
    balance_after: Amount


class CreditRevertedV1(InCurrency):
    """A debit was put back (in full or in part) on the lots it came from (an order cancelled
    or refunded). Credit that had expired meanwhile expires again at once: `reexpired`, also
    published as its own `credit.expired`."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    debit_id: str = Field(min_length=1, max_length=128, description="The debit reverted.")
    amount: Amount = Field(gt=0)
    currency: Currency
    order_id: str | None = Field(default=None, max_length=128)
    reexpired: Amount = Field(description="Of `amount`, what expired again at once.")
    balance_after: Amount


class CreditExpiringV1(InCurrency):
    """A lot will expire soon (sent once per lot, at the store's lead time): remind the
    customer."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    lot_id: str = Field(min_length=1, max_length=128)
    kind: CreditKind
    remaining: Amount = Field(gt=0, description="What will lapse unless spent.")
    currency: Currency
    expires_at: datetime


AdjustmentReason = Literal["admin", "merge", "clawback"]
# Amounts are never negative (`clientela.money`): the direction says which way it went.


class CreditAdjustedV1(InCurrency):
    """A correction of a wallet outside spending and expiry: an admin's adjustment (either
    sign), a lot moved out to the kept customer of a merge (the kept side is a
    `credit.granted`), or a granted cashback taken back after a late cancellation or refund."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    reason: AdjustmentReason
    direction: Literal["added", "taken"]
    amount: Amount = Field(gt=0)
    currency: Currency
    lot_id: str | None = Field(
        default=None, max_length=128, description="The lot made (added) or taken from."
    )
    kind: CreditKind | None = Field(default=None, description="That lot's kind.")
    note: str | None = Field(default=None, max_length=500)
    balance_after: Amount
