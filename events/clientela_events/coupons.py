"""Coupon events of the credits service (source `clientela.credits`): coupons for one customer.

Amounts are decimals (JSON strings, never binary floats) with the currency's minor units.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clientela_events.credits import SOURCE

__all__ = ["SOURCE", "CouponCreatedV1", "CouponRedeemedV1", "CouponRevertedV1"]


class CouponCreatedV1(BaseModel):
    """A coupon was made for one customer."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=3, max_length=32)
    customer_id: str = Field(min_length=1, max_length=128)
    kind: Literal["percentage", "fixed"]
    percentage: int | None = Field(default=None, ge=1, le=100)
    amount: Decimal | None = Field(default=None, gt=0, description="Fixed amount off")
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", description="ISO 4217")
    minimum_order: Decimal | None = Field(default=None, ge=0)
    expires_at: datetime | None = None
    usage_limit: int = Field(ge=1)
    created_at: datetime


class CouponRedeemedV1(BaseModel):
    """The storefront applied the customer's coupon to an order."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=3, max_length=32)
    customer_id: str = Field(min_length=1, max_length=128)
    order_id: str = Field(min_length=1, max_length=128)
    subtotal: Decimal = Field(ge=0)
    discount: Decimal = Field(ge=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    remaining_uses: int = Field(ge=0)
    redeemed_at: datetime


class CouponRevertedV1(BaseModel):
    """A redemption was undone (the order was cancelled): the use is the customer's again."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=3, max_length=32)
    customer_id: str = Field(min_length=1, max_length=128)
    order_id: str = Field(min_length=1, max_length=128)
    discount: Decimal = Field(ge=0)
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217")
    reverted_at: datetime
