"""The cashback programme's rules: the store's settings and the arithmetic of a cashback.

Pure: no I/O. A cashback is `percent` of what the order kept (its total less what was
refunded), rounded down to the currency's minor units, so it never exceeds the total and a
refund never raises it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from clientela import money

HUNDRED = Decimal(100)


class Status(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    VOIDED = "voided"


class Reason(StrEnum):
    ORDER_PLACED = "order-placed"
    GRANTED = "granted"
    ORDER_CANCELLED = "order-cancelled"
    ORDER_REFUNDED = "order-refunded"
    OTHER_CURRENCY = "other-currency"
    BELOW_MINIMUM = "below-minimum"
    NOTHING_TO_GIVE = "nothing-to-give"
    WALLET_CLOSED = "wallet-closed"
    CUSTOMER_MERGED = "customer-merged"


@dataclass(frozen=True)
class Cashback:
    """The store's cashback programme."""

    enabled: bool = False
    percent: Decimal = Decimal(5)
    hold_window_days: int = 14
    expiry_days: int | None = None
    minimum_total: Decimal | None = None


@dataclass(frozen=True)
class StoreSettings:
    """A store's credits settings; `version` 0: never set (the defaults)."""

    default_currency: str = "BRL"
    expiring_lead_days: int = 7
    cashback: Cashback = field(default_factory=Cashback)
    version: int = 0
    updated_at: datetime | None = None
    # The most credit one customer's wallet may hold in `default_currency` after an admin's
    # grant or adjustment; None: no limit.
    credit_limit: Decimal | None = None

    @property
    def expiring_lead(self) -> timedelta:
        return timedelta(days=self.expiring_lead_days)


def cashback_amount(total: Decimal, percent: Decimal, currency: str) -> Decimal:
    """`percent` of `total`, rounded down to the currency's minor units (never above total)."""
    unit = Decimal(1).scaleb(-money.minor_units(currency))
    amount = (max(total, Decimal(0)) * percent / HUNDRED).quantize(unit, rounding=ROUND_DOWN)
    return min(amount, max(total, Decimal(0)))


@dataclass(frozen=True)
class PendingCashback:
    """The cashback of one order, from its placement to its grant or void."""

    store_id: str
    customer_id: str
    order_id: str
    currency: str
    total: Decimal
    percent: Decimal
    amount: Decimal
    status: Status
    reason: Reason
    placed_at: datetime
    due_at: datetime
    expiry_days: int | None
    updated_at: datetime
    refunded: Decimal = Decimal(0)
    version: int = 0
    # After the grant: what a late cancellation or refund took back from the granted lot, and
    # what it could not (already spent or expired: it stays spent).
    clawed: Decimal = Decimal(0)
    uncollectable: Decimal = Decimal(0)

    @property
    def expires_at(self) -> datetime | None:
        """From the due date, so a retried grant posts the same body (the key's fingerprint)."""
        return None if self.expiry_days is None else self.due_at + timedelta(self.expiry_days)


def clawback_due(
    cashback: PendingCashback, *, cancelled: bool, refunds: dict[str, Decimal | None]
) -> Decimal:
    """What a granted cashback still owes back after the order's cancellation and refunds
    (all seen so far): the granted amount less what the order now earns, less what was taken
    back or written off before. Recomputed from the total, so redeliveries owe nothing twice."""
    if cashback.status is not Status.GRANTED:
        return Decimal(0)
    if cancelled or any(amount is None for amount in refunds.values()):
        earned = Decimal(0)
    else:
        refunded = min(
            sum((a for a in refunds.values() if a is not None), Decimal(0)), cashback.total
        )
        earned = cashback_amount(cashback.total - refunded, cashback.percent, cashback.currency)
    owed = cashback.amount - min(earned, cashback.amount) - cashback.clawed - cashback.uncollectable
    return max(owed, Decimal(0))


def follow_order(
    cashback: PendingCashback,
    *,
    cancelled: bool,
    refunds: dict[str, Decimal | None],
    at: datetime,
) -> PendingCashback:
    """What the order's cancellation and refunds (all seen so far, by refund id) make of a
    pending cashback. Recomputed from the total each time, so a redelivered refund changes
    nothing and the order of arrival does not matter. Granted or voided: unchanged."""
    if cashback.status is not Status.PENDING:
        return cashback
    if cancelled:
        return replace(cashback, status=Status.VOIDED, reason=Reason.ORDER_CANCELLED, updated_at=at)
    if any(amount is None for amount in refunds.values()):
        refunded = cashback.total
    else:
        refunded = sum((a for a in refunds.values() if a is not None), Decimal(0))
    refunded = min(refunded, cashback.total)
    if refunded == cashback.refunded:
        return cashback
    amount = cashback_amount(cashback.total - refunded, cashback.percent, cashback.currency)
    if amount <= 0:
        return replace(
            cashback,
            status=Status.VOIDED,
            reason=Reason.ORDER_REFUNDED,
            refunded=refunded,
            amount=Decimal(0),
            updated_at=at,
        )
    return replace(cashback, amount=amount, refunded=refunded, updated_at=at)
