"""What the coupons API takes and answers. Amounts are decimal strings in the coupon's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from chalicelib.credits.coupons.rules import (
    MAX_USAGE_LIMIT,
    CouponKind,
    RedemptionStatus,
    normalise_code,
)
from chalicelib.credits.coupons.rules import (
    Coupon as DomainCoupon,
)
from chalicelib.credits.coupons.rules import (
    Redemption as DomainRedemption,
)
from clientela.ids import ID_PATTERN
from clientela.money import Amount, Currency, InCurrency
from clientela.problems import Refused

CustomerId = Annotated[str, Field(pattern=ID_PATTERN.pattern, description="The customer's id")]
Code = Annotated[str, Field(min_length=3, max_length=32), AfterValidator(normalise_code)]
OrderId = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]


class CouponTerms(InCurrency):
    """A coupon for the customer in the path: either `percentage` or `amount` (with its
    `currency`)."""

    model_config = ConfigDict(extra="forbid")

    code: Code | None = Field(
        default=None,
        description="Chosen code, unique in the store (case-insensitive); generated if absent.",
    )
    percentage: int | None = Field(default=None, ge=1, le=100, description="Percent off")
    amount: Amount | None = Field(default=None, description="Fixed amount off")
    currency: Currency | None = Field(
        default=None, description="Currency of `amount` and `minimum_order`; required with them."
    )
    minimum_order: Amount | None = Field(default=None, description="Smallest order subtotal")
    expires_at: AwareDatetime | None = Field(default=None, description="Not in the past")
    usage_limit: int = Field(default=1, ge=1, le=MAX_USAGE_LIMIT)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.percentage is None) == (self.amount is None):
            raise Refused(
                "amount" if self.amount is None else "percentage",
                "give exactly one of percentage and amount",
                "percentage_or_amount",
            )
        if self.amount is not None and self.amount <= 0:
            raise Refused("amount", "amount must be more than zero", "not_positive")
        if (self.amount is not None or self.minimum_order is not None) and self.currency is None:
            raise Refused(
                "currency", "currency is required with amount or minimum_order", "currency_required"
            )
        return self


class NewCoupon(CouponTerms):
    """A coupon for one customer, named in the body (`POST /coupons`)."""

    customer_id: CustomerId


class Coupon(InCurrency):
    code: str
    customer_id: str
    kind: CouponKind
    percentage: int | None
    amount: Amount | None
    currency: Currency | None
    minimum_order: Amount | None
    expires_at: datetime | None
    usage_limit: int
    uses: int
    remaining_uses: int
    created_at: datetime

    @classmethod
    def of(cls, coupon: DomainCoupon) -> Coupon:
        return cls(
            code=coupon.code,
            customer_id=coupon.customer_id,
            kind=coupon.kind,
            percentage=coupon.percentage,
            amount=coupon.amount,
            currency=coupon.currency,
            minimum_order=coupon.minimum_order,
            expires_at=coupon.expires_at,
            usage_limit=coupon.usage_limit,
            uses=coupon.uses,
            remaining_uses=coupon.remaining_uses,
            created_at=coupon.created_at,
        )


class CouponQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId


class CouponList(BaseModel):
    items: list[Coupon]


class NewRedemption(InCurrency):
    """The storefront applies a coupon to an order (idempotent per `order_id`)."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderId
    customer_id: CustomerId
    subtotal: Amount = Field(description="The order's subtotal the discount applies to")
    currency: Currency


class Redemption(InCurrency):
    code: str
    order_id: str
    customer_id: str
    subtotal: Amount
    currency: Currency
    discount: Amount = Field(description="What the coupon takes off the order")
    status: RedemptionStatus
    redeemed_at: datetime
    reverted_at: datetime | None

    @classmethod
    def of(cls, redemption: DomainRedemption) -> Redemption:
        return cls(
            code=redemption.code,
            order_id=redemption.order_id,
            customer_id=redemption.customer_id,
            subtotal=redemption.subtotal,
            currency=redemption.currency,
            discount=redemption.discount,
            status=redemption.status,
            redeemed_at=redemption.redeemed_at,
            reverted_at=redemption.reverted_at,
        )
