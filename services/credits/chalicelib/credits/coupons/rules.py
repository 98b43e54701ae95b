"""Coupon rules that need no AWS: codes, what a coupon takes off an order, when it applies."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from clientela import money

# No 0/O, 1/I/L: a code read aloud or copied from a screen cannot be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 10
CODE_PATTERN = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]{1,30})[A-Z0-9]$")
MAX_USAGE_LIMIT = 1000


class CouponKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class RedemptionStatus(StrEnum):
    REDEEMED = "redeemed"
    REVERTED = "reverted"


class CouponNotFound(Exception):
    pass


class CodeTaken(Exception):
    pass


class RedemptionNotFound(Exception):
    pass


@dataclass
class Refusal(Exception):
    """Why a coupon does not apply to an order: the field at fault and a slug for the answer."""

    slug: str
    field: str
    reason: str


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_LENGTH))


def normalise_code(value: str) -> str:
    """Codes are case-insensitive: kept upper-case. Raises ValueError for anything else."""
    code = value.strip().upper()
    if not CODE_PATTERN.match(code):
        raise ValueError(
            "must be 3 to 32 letters, digits or inner hyphens (A-Z, 0-9, -), e.g. WELCOME-10"
        )
    return code


@dataclass(frozen=True)
class Coupon:
    store_id: str
    code: str
    customer_id: str
    kind: CouponKind
    percentage: int | None
    amount: Decimal | None
    currency: str | None
    minimum_order: Decimal | None
    expires_at: datetime | None
    usage_limit: int
    uses: int
    created_at: datetime

    @property
    def remaining_uses(self) -> int:
        return max(self.usage_limit - self.uses, 0)


@dataclass(frozen=True)
class Redemption:
    store_id: str
    code: str
    order_id: str
    customer_id: str
    subtotal: Decimal
    currency: str
    discount: Decimal
    status: RedemptionStatus
    redeemed_at: datetime
    reverted_at: datetime | None

    def same_request(self, customer_id: str, subtotal: Decimal, currency: str) -> bool:
        return (self.customer_id, self.subtotal, self.currency) == (customer_id, subtotal, currency)


def discount(
    coupon: Coupon, customer_id: str, subtotal: Decimal, currency: str, now: datetime
) -> Decimal:
    """What the coupon takes off an order of `subtotal`, never more than the order.

    Raises Refusal when it does not apply: another customer's coupon, expired, the order below
    the minimum or in another currency than the coupon's amounts. Whether a use is left is the
    store's atomic check, not this one.
    """
    if customer_id != coupon.customer_id:
        raise Refusal("coupon-not-applicable", "customer_id", "The coupon is not this customer's")
    if coupon.expires_at is not None and now >= coupon.expires_at:
        raise Refusal("coupon-expired", "code", "The coupon has expired")
    if coupon.currency is not None and currency != coupon.currency:
        raise Refusal("coupon-not-applicable", "currency", f"The coupon is in {coupon.currency}")
    if coupon.minimum_order is not None and subtotal < coupon.minimum_order:
        minimum = money.text(coupon.minimum_order, currency)
        raise Refusal(
            "coupon-not-applicable",
            "subtotal",
            f"The order is below the coupon's minimum of {minimum}",
        )
    if coupon.kind is CouponKind.PERCENTAGE:
        assert coupon.percentage is not None
        # Rounded down: a percentage never gives a fraction of a minor unit more than it says.
        off = (subtotal * coupon.percentage / 100).quantize(
            Decimal(1).scaleb(-money.minor_units(currency)), rounding="ROUND_DOWN"
        )
    else:
        assert coupon.amount is not None
        off = coupon.amount
    return min(off, subtotal)
