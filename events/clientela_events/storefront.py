"""Events of the store platform (source `clientela.storefront`): orders, reviews, shopping.

The store platform publishes them on the bus; the customers service follows them through its
inbox. Money is `clientela.money`'s: a decimal string with the currency's minor units (a JSON
number is read as written, never a float with binary noise); times are ISO 8601 with a zone.
A shopper is named by `customer_id` (Clientela's id) and/or `email`: guests have only an e-mail.

`order.cancelled` and `order.refunded` have a second publisher: a store whose platform cannot
publish on the bus records cancellations and refunds through the customers API, and the
customers service publishes those (and only those) under its own source,
`clientela.customers`, with the same data. Follow both sources; the same fact may arrive from
both when a store uses both ways, so de-duplicate on `order_id` / `refund_id`, not only on the
event id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from clientela.money import Amount, Currency, InCurrency

SOURCE = "clientela.storefront"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    """From 1970 to 9998: every instant has a UTC form (year 1 at +05:00 has none)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 1970 and 9998") from None
    if utc < _EPOCH or utc.year > 9998:
        raise ValueError("must be between 1970 and 9998")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]

OrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="The store platform's order id (printable ASCII, no spaces).",
    ),
]
CustomerId = Annotated[str, Field(min_length=1, max_length=64, description="Clientela's id.")]
Email = Annotated[str, Field(min_length=3, max_length=320)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class LineItemV1(_Event):
    """One line of an order."""

    product_id: Code
    sku: Code
    name: Text
    brand: Text | None = None
    category: Text | None = None
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Amount


class BookingV1(_Event):
    """The service an order of kind `booking` booked (from the booking scheduler)."""

    service_id: Code
    service_name: Text | None = None
    starts_at: Instant
    ends_at: Instant = Field(description="After `starts_at`.")


class TicketV1(_Event):
    """The event an order of kind `ticket` is for."""

    event_id: Code
    event_name: Text | None = None
    event_at: Instant


class OrderPlacedV1(_Event, InCurrency):
    """An order was placed. Guest orders carry only the e-mail.

    `kind` says what was sold: `product` (the shop; absent means product), `booking` (with
    `booking`) or `ticket` (with `ticket`). An order of a kind carries its kind's details and
    no other kind's; the customers service refuses (and logs) one that does not.
    """

    order_id: OrderId
    customer_id: CustomerId | None = None
    email: Email
    placed_at: Instant
    currency: Currency
    total: Amount = Field(description="What the customer paid, as a decimal string.")
    items: list[LineItemV1] = Field(min_length=1, max_length=250)
    kind: Literal["product", "booking", "ticket"] = "product"
    booking: BookingV1 | None = None
    ticket: TicketV1 | None = None


class OrderCancelledV1(_Event):
    """An order was cancelled. May arrive before its `order.placed`."""

    order_id: OrderId
    cancelled_at: Instant
    reason: Text | None = Field(default=None, description="Why, as the store recorded it.")


class OrderRefundedV1(_Event):
    """Money of an order was refunded, in part or in full. May arrive before `order.placed`."""

    order_id: OrderId
    refund_id: Code = Field(description="Unique per refund: a redelivery is recognised by it.")
    amount: Amount | None = Field(
        default=None, description="In the order's currency; absent: what was left of the total."
    )
    reason: Text | None = Field(default=None, description="Why, as the store recorded it.")
    refunded_at: Instant


class _Shopper(_Event):
    customer_id: CustomerId | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.customer_id is None and self.email is None:
            raise ValueError("customer_id or email is required")
        return self


class ReviewCreatedV1(_Shopper):
    """A shopper rated a product (1 to 5)."""

    review_id: Code
    order_id: OrderId | None = None
    product_id: Code
    rating: int = Field(ge=1, le=5)
    at: Instant


class _ProductActivity(_Shopper, InCurrency):
    product_id: Code
    sku: Code
    name: Text
    brand: Text | None = None
    category: Text | None = None
    price: Amount | None = None
    currency: Currency | None = None
    at: Instant
    device: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="e.g. mobile, desktop, tablet, app."
    )


class ProductViewedV1(_ProductActivity):
    """A shopper looked at a product page."""


class CartUpdatedV1(_ProductActivity):
    """A shopper put a product in the cart, or changed its quantity (0: removed)."""

    quantity: int = Field(ge=0, le=100_000)
