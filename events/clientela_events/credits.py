"""Events of the credits service (source `clientela.credits`): movements of a customer's wallet.

Amounts are decimals (JSON strings in the samples, never binary floats) in the currency named.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "clientela.credits"

CreditKind = Literal["referral", "bonus", "cashback", "refund", "manual"]


class CreditGrantedV1(BaseModel):
    """Credit was added to a customer's wallet."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    kind: CreditKind
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    expires_at: datetime | None = Field(default=None, description="When unspent credit lapses.")
    balance_after: Decimal = Field(ge=0)


class CreditSpentV1(BaseModel):
    """A customer paid with credit."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    order_id: str | None = Field(default=None, max_length=128)
    balance_after: Decimal = Field(ge=0)


class CreditExpiredV1(BaseModel):
    """Unspent credit lapsed."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    balance_after: Decimal = Field(ge=0)


class CreditRevertedV1(BaseModel):
    """A debit was put back (in full or in part) on the lots it came from (an order cancelled
    or refunded). Credit that had expired meanwhile expires again at once: `reexpired`, also
    published as its own `credit.expired`."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    entry_id: str = Field(min_length=1, max_length=128, description="The wallet's ledger entry.")
    debit_id: str = Field(min_length=1, max_length=128, description="The debit reverted.")
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    order_id: str | None = Field(default=None, max_length=128)
    reexpired: Decimal = Field(ge=0, description="Of `amount`, what expired again at once.")
    balance_after: Decimal = Field(ge=0)


class CreditExpiringV1(BaseModel):
    """A lot will expire soon (sent once per lot, at the store's lead time): remind the
    customer."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=128)
    lot_id: str = Field(min_length=1, max_length=128)
    kind: CreditKind
    remaining: Decimal = Field(gt=0, description="What will lapse unless spent.")
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    expires_at: datetime
