"""What the orders, reviews and reports API accepts and answers (OpenAPI is built from these).

Money is `clientela.money`'s: a decimal string such as "59.90" (or a JSON number, read as
written) with at most the currency's decimals; answers give it as a string with exactly the
currency's minor units ("100.00" BRL, "1250" JPY, "1.500" KWD).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chalicelib.customers import keys
from chalicelib.customers.orders import rules as orders
from chalicelib.customers.orders.reports import rules as reports
from chalicelib.customers.orders.rules import (
    Booking,
    Order,
    OrderKind,
    Refund,
    Review,
    Ticket,
    booking_of,
    detail_problem,
    line_items,
    ticket_of,
)
from chalicelib.customers.orders.usecases import Recorded
from chalicelib.customers.profiles.rules import normalise_email
from clientela.money import Amount, Currency, InCurrency
from clientela.problems import Refused
from clientela_events.storefront import Instant

OrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=orders.MAX_ORDER_ID_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="The store platform's id (1-64 printable ASCII characters, no spaces).",
        examples=["ES-100234"],
    ),
]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """pydantic reads "0" or "1.5" as a day (seconds since 1970): only YYYY-MM-DD is a day here."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
CustomerId = Annotated[str, Field(min_length=1, max_length=64, description="Clientela's id.")]
Email = Annotated[str, Field(max_length=320, examples=["maria.garcia@example.es"])]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalise_email(value)


class LineItemIn(_Input):
    product_id: Code
    sku: Code
    name: Text
    brand: Text | None = None
    category: Text | None = None
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Amount


class BookingIn(_Input):
    """The service booked (an order of kind `booking`)."""

    service_id: Code = Field(description="The scheduler's id of the service booked.")
    service_name: Text | None = None
    starts_at: Instant
    ends_at: Instant = Field(description="After `starts_at`.")

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        reason = None if starts_at is None else orders.schedule_problem(starts_at, value)
        if reason:
            raise ValueError(reason)
        return value


class TicketIn(_Input):
    """The event a ticket is for (an order of kind `ticket`)."""

    event_id: Code = Field(description="The store's id of the event.")
    event_name: Text | None = None
    event_at: Instant = Field(description="When the event takes place.")


class OrderIn(_Input, InCurrency):
    """An order placed on the store platform. Guest orders give only the e-mail."""

    order_id: OrderId
    customer_id: CustomerId | None = Field(
        default=None, description="Absent for guest orders: the e-mail's customer is used."
    )
    email: Email
    placed_at: Instant = Field(description="With a time zone, e.g. 2026-11-23T12:00:00Z.")
    currency: Currency
    total: Amount
    items: list[LineItemIn] = Field(min_length=1, max_length=250)
    kind: OrderKind = Field(
        default="product",
        description="`product` (the shop), `booking` (a booked service, with `booking`) or"
        " `ticket` (an event ticket, with `ticket`).",
    )
    booking: BookingIn | None = Field(
        default=None, validate_default=True, description="Required for a booking, refused else."
    )
    ticket: TicketIn | None = Field(
        default=None, validate_default=True, description="Required for a ticket, refused else."
    )

    @field_validator("booking", "ticket")
    @classmethod
    def _fits_kind(cls, value: object, info: ValidationInfo) -> object:
        kind = info.data.get("kind")
        assert info.field_name is not None
        reason = None if kind is None else detail_problem(kind, info.field_name, value is not None)
        if reason:
            raise ValueError(reason)
        return value

    def to_order(self) -> Order:
        return Order(
            order_id=self.order_id,
            email=self.email,
            customer_id=self.customer_id,
            placed_at=self.placed_at,
            currency=self.currency,
            total=self.total,
            items=line_items(self.items),
            kind=self.kind,
            booking=booking_of(self.booking),
            ticket=ticket_of(self.ticket),
            placed_via_api=True,
        )


class OrderBatch(_Input):
    """Up to 100 orders. Recording is idempotent by order id: sending one again changes nothing."""

    orders: list[OrderIn] = Field(min_length=1, max_length=orders.MAX_BATCH)


class OrderResult(BaseModel):
    order_id: str
    result: Literal["created", "already_recorded", "refused"]
    customer_id: str | None = Field(description="The customer the order counts for.")
    field: str | None = Field(default=None, description="What was refused (when refused).")
    reason: str | None = None
    retry: bool = Field(default=False, description="Refused for now only: send it again later.")

    @classmethod
    def of(cls, recorded: Recorded) -> OrderResult:
        return cls(
            order_id=recorded.id,
            result=recorded.result,
            customer_id=recorded.customer_id,
            field=recorded.field,
            reason=recorded.reason,
            retry=recorded.retry,
        )


class OrderBatchResult(BaseModel):
    """One result per order sent, in the order sent."""

    results: list[OrderResult]


class LineItemOut(BaseModel):
    product_id: str
    sku: str
    name: str
    brand: str | None
    category: str | None
    quantity: int
    unit_price: Amount


class BookingOut(BaseModel):
    service_id: str
    service_name: str | None
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, booking: Booking | None) -> BookingOut | None:
        if booking is None:
            return None
        return cls(
            service_id=booking.service_id,
            service_name=booking.service_name,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
        )


class TicketOut(BaseModel):
    event_id: str
    event_name: str | None
    event_at: datetime

    @classmethod
    def of(cls, ticket: Ticket | None) -> TicketOut | None:
        if ticket is None:
            return None
        return cls(event_id=ticket.event_id, event_name=ticket.event_name, event_at=ticket.event_at)


class OrderOut(InCurrency):
    """An order as recorded, with what happened to it since."""

    order_id: str
    customer_id: str | None
    email: str
    placed_at: datetime
    currency: Currency
    total: Amount
    status: Literal["placed", "cancelled", "refunded"]
    refunded_total: Amount
    cancelled_at: datetime | None
    items: list[LineItemOut]
    kind: OrderKind
    booking: BookingOut | None = Field(description="The service booked (bookings only).")
    ticket: TicketOut | None = Field(description="The event (tickets only).")

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            email=order.email,
            placed_at=order.placed_at,
            currency=order.currency,
            total=order.total,
            status=order.status,
            refunded_total=order.refunded_total,
            cancelled_at=order.cancelled_at,
            items=[
                LineItemOut(
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    brand=line.brand,
                    category=line.category,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in order.items
            ],
            kind=order.kind,
            booking=BookingOut.of(order.booking),
            ticket=TicketOut.of(order.ticket),
        )


class CancellationIn(_Input):
    """Cancels a placed order: it leaves its customer's aggregates and the reports."""

    reason: Text | None = Field(default=None, description="Why, for the store's own records.")
    cancelled_at: Instant | None = Field(
        default=None, description="When it was cancelled; absent: now."
    )


class CancellationOut(BaseModel):
    """The order's cancellation, as recorded (a repeated request answers the same)."""

    order_id: str
    status: Literal["cancelled"]
    cancelled_at: datetime
    reason: str | None

    @classmethod
    def of(cls, order: Order) -> CancellationOut:
        assert order.cancelled_at is not None
        return cls(
            order_id=order.order_id,
            status="cancelled",
            cancelled_at=order.cancelled_at,
            reason=order.cancel_reason,
        )


class RefundIn(_Input):
    """Money given back of a placed order, in part or in full; several refunds may follow."""

    refund_id: Code = Field(
        description="Your id for this refund: sending it again with the same body records"
        " nothing new and answers as the first time."
    )
    amount: Annotated[Amount, Field(gt=0)] = Field(
        description="In the order's currency; at most what is left to refund of its total."
    )
    reason: Text | None = None
    refunded_at: Instant | None = Field(default=None, description="When; absent: now.")

    def to_refund(self, now: datetime) -> Refund:
        return Refund(self.refund_id, self.refunded_at or now, self.amount, reason=self.reason)


class RefundOut(InCurrency):
    """A refund as recorded (a repeated request answers the same)."""

    order_id: str
    refund_id: str
    amount: Amount
    currency: Currency
    reason: str | None
    refunded_at: datetime

    @classmethod
    def of(cls, order: Order, refund: Refund) -> RefundOut:
        assert refund.amount is not None
        return cls(
            order_id=order.order_id,
            refund_id=refund.refund_id,
            amount=refund.amount,
            currency=order.currency,
            reason=refund.reason,
            refunded_at=refund.at,
        )


class OrderPage(BaseModel):
    """One page of a customer's orders, newest first."""

    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100, description="Page size.")
    cursor: str | None = Field(default=None, max_length=2048, description="From `next_cursor`.")


class OrdersQuery(PageQuery):
    kind: OrderKind | None = Field(default=None, description="Only orders of this kind.")
    when: Literal["upcoming", "past"] | None = Field(
        default=None,
        validate_default=True,
        description="With `kind=booking` or `kind=ticket`: the ones not cancelled that start"
        " from now on (soonest first) or started before now (latest first).",
    )

    @field_validator("when")
    @classmethod
    def _scheduled_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("kind") not in orders.SCHEDULED_KINDS:
            raise ValueError("needs kind=booking or kind=ticket")
        return value


class ReviewIn(_Input):
    """A rating of a product. Name the customer by id or by e-mail (created if unknown)."""

    review_id: Code
    customer_id: CustomerId | None = None
    email: Email | None = None
    order_id: OrderId | None = None
    product_id: Code
    rating: int = Field(ge=1, le=5)
    at: Instant

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.customer_id is None and self.email is None:
            raise Refused(
                "customer_id", "customer_id or email is required", "customer_or_email_required"
            )
        return self

    def to_review(self) -> Review:
        return Review(
            review_id=self.review_id,
            product_id=self.product_id,
            rating=self.rating,
            at=self.at,
            customer_id=self.customer_id,
            email=self.email,
            order_id=self.order_id,
        )


class ReviewResult(BaseModel):
    review_id: str
    result: Literal["created", "already_recorded"] = Field(
        description="`already_recorded`: this review id was counted before; nothing changed."
    )
    customer_id: str | None = Field(description="The customer the rating counts for.")


# Reports ----------------------------------------------------------------------------------

Sort = Literal[
    "orders",
    "amount",
    "first_order_at",
    "last_order_at",
    "email",
    "-orders",
    "-amount",
    "-first_order_at",
    "-last_order_at",
    "-email",
]  # reports.SORTS


def _period_required(schema: dict[str, Any]) -> None:
    """The document says what the route enforces (422 naming them when either is missing)."""
    schema["required"] = sorted({*schema.get("required", []), "from", "to"})


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_period_required)

    start: Day | None = Field(
        default=None,
        alias="from",
        description="First day of the period (YYYY-MM-DD, UTC), included.",
    )
    end: Day | None = Field(
        default=None,
        alias="to",
        description="Last day of the period (YYYY-MM-DD, UTC), included.",
    )
    sort: Sort = Field(
        default="email",
        description="A column; `-` first for descending (ties: by e-mail, then currency).",
    )
    limit: int = Field(default=100, ge=1, le=500, description="Rows per page.")
    cursor: str | None = Field(default=None, max_length=2048, description="From `next_cursor`.")
    kind: list[OrderKind] = Field(
        default_factory=list,
        max_length=len(orders.KINDS),
        description="Only orders of these kinds (repeatable: product, booking, ticket); all"
        " by default.",
    )

    def kinds(self) -> frozenset[str] | None:
        return frozenset(self.kind) if self.kind else None

    def period(self) -> reports.Period | None:
        """The period in stamps, or None while `from` or `to` is missing or they are reversed."""
        if self.start is None or self.end is None or self.start > self.end:
            return None
        first = datetime.combine(self.start, time.min, tzinfo=UTC)
        last = datetime.combine(self.end, time.max, tzinfo=UTC)
        return reports.Period(keys.stamp(first), keys.stamp(last))

    def criteria(self) -> dict[str, object]:
        """The query without its page: what a cursor is bound to."""
        return self.model_dump(mode="json", exclude={"limit", "cursor"}, by_alias=True)


class SalesQuery(ReportQuery):
    product: list[Code] = Field(
        default_factory=list, max_length=50, description="Product id or SKU (repeatable)."
    )
    brand: list[Text] = Field(default_factory=list, max_length=50, description="Repeatable.")
    category: list[Text] = Field(default_factory=list, max_length=50, description="Repeatable.")

    def catalogue(self) -> reports.CatalogueFilter:
        return reports.CatalogueFilter.of(self.product, self.brand, self.category)


class FrequencyQuery(ReportQuery):
    orders_min: int | None = Field(default=None, ge=1, le=1_000_000)
    spent_min: Amount | None = None
    no_order_since: Day | None = Field(
        default=None, description="Only e-mails whose last order in the period is before this day."
    )

    def frequency(self) -> reports.FrequencyCriteria:
        since = self.no_order_since
        return reports.FrequencyCriteria(
            orders_min=self.orders_min,
            spent_min=self.spent_min,
            no_order_since=(
                None if since is None else keys.stamp(datetime.combine(since, time.min, tzinfo=UTC))
            ),
        )


class ReportRow(InCurrency):
    email: str
    currency: Currency
    customer_id: str | None = Field(
        description="The customer of the e-mail's latest order (that names one)."
    )
    customer_ids: list[str] = Field(description="Every customer the e-mail's orders belong to.")
    orders: int
    amount: Amount
    first_order_at: datetime
    last_order_at: datetime

    @classmethod
    def of(cls, row: reports.Row) -> ReportRow:
        return cls(
            email=row.email,
            currency=row.currency,
            customer_id=row.customer_id,
            customer_ids=row.customer_ids,
            orders=row.orders,
            amount=row.amount,
            first_order_at=keys.parse_stamp(row.first_order_at),
            last_order_at=keys.parse_stamp(row.last_order_at),
        )


class ReportPage(BaseModel):
    """One page of a report's rows."""

    items: list[ReportRow]
    total_rows: int = Field(description="Rows of the whole report, every page together.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")
