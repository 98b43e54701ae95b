"""Order rules with no AWS: what an order is, how it moves between states, what it adds up to.

An order counts in its customer's aggregates (`orders_count`, `total_spent`, first and last
order dates) while it is not cancelled; what it adds to `total_spent` is its total minus what
was refunded. Every change below returns the order after it and the `Delta` it makes to those
aggregates, so the store can write both in one transaction. Cancellations and refunds may
arrive before the order itself: they wait as `Pending` and apply when it is placed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from chalicelib.customers import keys
from clientela import money

OrderStatus = Literal["placed", "cancelled", "refunded"]
# What was sold: goods from the shop, a booked service (scheduler) or an event ticket. Every
# kind counts alike in the aggregates and reports; bookings and tickets also have a date.
OrderKind = Literal["product", "booking", "ticket"]
KINDS: tuple[OrderKind, ...] = ("product", "booking", "ticket")
SCHEDULED_KINDS: tuple[OrderKind, ...] = ("booking", "ticket")
ZERO = Decimal(0)
MAX_BATCH = 100
MAX_ORDER_ID_LENGTH = 64
MAX_STORED_BYTES = 350_000  # a DynamoDB item holds 400 KB
# Deterministic timeline entry ids: a redelivered cause rewrites the same entry.
_ENTRY_NAMESPACE = uuid.UUID("0d6c1f7e-4b1a-4f55-9a3e-7c2d8e9f1a2b")


class OrderError(Exception):
    """A rule of the orders area refused a change."""


class OrderRefused(OrderError):
    """This order (or review) cannot be recorded as given; `reason` says why, without data."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


class OrderNotFound(OrderError):
    """No order placed with this id in this store (an early cancellation or refund is none)."""


class OrderWriteConflict(OrderError):
    """Other writes to the same customer kept winning the race; trying again may succeed."""


_ORDER_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_ORDER_ID_LENGTH}}}")


def is_order_id(value: str) -> bool:
    """Whether `value` can be an order id at all (what `POST /orders` accepts)."""
    return _ORDER_ID.fullmatch(value) is not None


def stored_size(order: Order) -> int:
    """An upper bound of the order item's size: its lines are stored twice (items, report)."""
    text = sum(
        len(part.encode())
        for line in order.items
        for part in (line.product_id, line.sku, line.name, line.brand or "", line.category or "")
    )
    details = (order.booking and order.booking.service_name) or (
        order.ticket and order.ticket.event_name
    )
    return (
        2 * text
        + 120 * len(order.items)
        + 3 * len(order.email.encode())
        + 2_000
        + 2 * len((details or "").encode())
    )


def entry_id(kind: str, *cause: str) -> str:
    """The timeline entry id of one cause (an order and what happened to it, a review)."""
    return uuid.uuid5(_ENTRY_NAMESPACE, "\x1f".join((kind, *cause))).hex


@dataclass(frozen=True)
class LineItem:
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    brand: str | None = None
    category: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Booking:
    """The service booked, and when it takes place."""

    service_id: str
    starts_at: datetime
    ends_at: datetime
    service_name: str | None = None


@dataclass(frozen=True)
class Ticket:
    """The event a ticket is for, and when it takes place."""

    event_id: str
    event_at: datetime
    event_name: str | None = None


def detail_problem(kind: str, detail: str, given: bool) -> str | None:
    """Why an order of `kind` cannot have (or lack) `detail` ("booking", "ticket"), or None.

    An order of a kind has its kind's details and no other kind's: a booking its service and
    times, a ticket its event and date.
    """
    if given and kind != detail:
        return f"only an order of kind '{detail}' has it (this one is '{kind}')"
    if not given and kind == detail:
        return f"an order of kind '{detail}' needs it"
    return None


def schedule_problem(starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a booking's times cannot be, or None."""
    return "must be after starts_at" if ends_at <= starts_at else None


def kind_problem(order: Order) -> tuple[str, str] | None:
    """The (field, reason) of the first detail that does not fit the order's kind, or None."""
    for name, value in (("booking", order.booking), ("ticket", order.ticket)):
        reason = detail_problem(order.kind, name, value is not None)
        if reason:
            return name, reason
    if order.booking is not None:
        reason = schedule_problem(order.booking.starts_at, order.booking.ends_at)
        if reason:
            return "booking.ends_at", reason
    return None


@dataclass(frozen=True)
class Refund:
    """Money given back. `amount` None: whatever was left of the total, decided on applying."""

    refund_id: str
    at: datetime
    amount: Decimal | None = None
    reason: str | None = None
    # Recorded through the HTTP API rather than heard from the store platform's events: only
    # those are published by this service (the platform publishes its own).
    via_api: bool = False


@dataclass(frozen=True)
class Pending:
    """What was said about an order before it was placed (events can arrive in any order)."""

    cancelled_at: datetime | None = None
    refunds: tuple[Refund, ...] = ()

    @property
    def status(self) -> OrderStatus:
        return "cancelled" if self.cancelled_at else "refunded"

    def knows(self, refund_id: str) -> bool:
        return any(r.refund_id == refund_id for r in self.refunds)


@dataclass(frozen=True)
class Delta:
    """What a change adds to the customer's aggregates."""

    orders: int = 0
    spent: Decimal = ZERO

    def __bool__(self) -> bool:
        return bool(self.orders or self.spent)


@dataclass(frozen=True)
class Order:
    order_id: str
    email: str
    placed_at: datetime
    currency: str
    total: Decimal
    items: tuple[LineItem, ...]
    customer_id: str | None = None
    status: OrderStatus = "placed"
    refunded_total: Decimal = ZERO
    cancelled_at: datetime | None = None
    # Refunds applied, with the amount each one actually took off.
    refunds: tuple[Refund, ...] = field(default=())
    cancel_reason: str | None = None
    cancelled_via_api: bool = False  # as Refund.via_api
    placed_via_api: bool = False  # as Refund.via_api: the placing itself came through the API
    kind: OrderKind = "product"
    booking: Booking | None = None
    ticket: Ticket | None = None

    @property
    def scheduled_at(self) -> datetime | None:
        """When a booking starts or a ticket's event takes place; None for products."""
        if self.booking is not None:
            return self.booking.starts_at
        return None if self.ticket is None else self.ticket.event_at

    @property
    def counted(self) -> bool:
        """Whether the order is in its customer's aggregates."""
        return self.status != "cancelled"

    @property
    def spent(self) -> Decimal:
        return self.total - self.refunded_total

    def contribution(self) -> Delta:
        return Delta(1, self.spent) if self.counted else Delta()

    def knows(self, refund_id: str) -> bool:
        return any(r.refund_id == refund_id for r in self.refunds)

    def refund_of(self, refund_id: str) -> Refund | None:
        return next((r for r in self.refunds if r.refund_id == refund_id), None)

    @property
    def refundable(self) -> Decimal:
        """What is left to refund of the total."""
        return max(self.total - self.refunded_total, ZERO)


@dataclass(frozen=True)
class Review:
    """A shopper's rating of a product; counted once per review id."""

    review_id: str
    product_id: str
    rating: int
    at: datetime
    customer_id: str | None = None
    email: str | None = None
    order_id: str | None = None


def place(order: Order, pending: Pending | None) -> Order:
    """The order as it is stored when placed: with refunds and cancellation that came first."""
    placed = replace(order, status="placed", refunded_total=ZERO, cancelled_at=None, refunds=())
    if pending is None:
        return placed
    for early in pending.refunds:
        try:
            placed, _ = refund(placed, early)
        except OrderRefused:  # more decimals than the order's currency has: it never applies
            continue
    if pending.cancelled_at is not None:
        placed, _ = cancel(placed, pending.cancelled_at)
    return placed


def cancel(
    order: Order, at: datetime, *, reason: str | None = None, via_api: bool = False
) -> tuple[Order, Delta]:
    """Cancelled orders leave the aggregates. Cancelling twice changes nothing."""
    if order.status == "cancelled":
        return order, Delta()
    before = order.contribution()
    cancelled = replace(
        order, status="cancelled", cancelled_at=at, cancel_reason=reason, cancelled_via_api=via_api
    )
    return cancelled, Delta(-before.orders, -before.spent)


def refund(order: Order, given: Refund) -> tuple[Order, Delta]:
    """Takes the refund off what the order counts for, never below zero; once per refund id.

    A refund of a cancelled order is recorded but changes no aggregate: the order is no longer
    counted. Without an amount the refund is what was left of the total. Raises OrderRefused
    for an amount with more decimals than the order's currency has.
    """
    if order.knows(given.refund_id):
        return order, Delta()
    if given.amount is not None:
        try:
            money.check(given.amount, order.currency)
        except ValueError as exc:
            raise OrderRefused("amount", str(exc)) from None
    left = order.refundable
    taken = left if given.amount is None else min(given.amount, left)
    applied = replace(given, amount=taken)
    status: OrderStatus = "cancelled" if order.status == "cancelled" else "refunded"
    refunded = replace(
        order,
        status=status,
        refunded_total=order.refunded_total + taken,
        refunds=(*order.refunds, applied),
    )
    return refunded, (Delta(0, -taken) if order.counted else Delta())


def seen_moving(at: datetime, seen: str | None, now: datetime) -> str | None:
    """What a purchase or review at `at` moves the customer's `last_seen_at` to (a stamp), or
    None when the customer was seen since. Never later than now: an order dated ahead of the
    clock would otherwise keep its customer "active" for months."""
    moment = keys.stamp(min(at, now))
    return moment if seen is None or seen < moment else None


def bounds_with(first: str | None, last: str | None, placed_at: str) -> tuple[str, str]:
    """First and last order stamps once an order placed at `placed_at` counts too."""
    return (min(first or placed_at, placed_at), max(last or placed_at, placed_at))


def line_items(lines: Iterable[Any]) -> tuple[LineItem, ...]:
    """Line items from any model carrying their fields (the API's body or an event's data)."""
    return tuple(
        LineItem(
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            brand=line.brand,
            category=line.category,
        )
        for line in lines
    )


def booking_of(details: Any) -> Booking | None:
    """A booking from any model carrying its fields (the API's body or an event's data)."""
    if details is None:
        return None
    return Booking(details.service_id, details.starts_at, details.ends_at, details.service_name)


def ticket_of(details: Any) -> Ticket | None:
    """A ticket from any model carrying its fields (the API's body or an event's data)."""
    if details is None:
        return None
    return Ticket(details.event_id, details.event_at, details.event_name)
