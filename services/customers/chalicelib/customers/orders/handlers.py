"""Orders and reviews from the bus (storefront events), through the inbox."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.customers.inbox import follows
from chalicelib.customers.orders.rules import (
    Order,
    OrderRefused,
    OrderWriteConflict,
    Refund,
    Review,
    booking_of,
    kind_problem,
    line_items,
    ticket_of,
)
from chalicelib.customers.orders.usecases import (
    cancel_order,
    post_review,
    record_orders,
    refund_order,
)
from chalicelib.customers.profiles.rules import normalise_email
from clientela.events import IncomingEvent
from clientela.problems import UnknownReference
from clientela_events.storefront import (
    OrderCancelledV1,
    OrderPlacedV1,
    OrderRefundedV1,
    ReviewCreatedV1,
)

logger = Logger(service="customers")


# The store platform's events ----------------------------------------------------------------


def order_of_event(data: OrderPlacedV1) -> Order:
    """The order an `order.placed` event describes. Raises ValueError for a bad e-mail."""
    return Order(
        order_id=data.order_id,
        email=normalise_email(data.email),
        customer_id=data.customer_id,
        placed_at=data.placed_at,
        currency=data.currency,
        total=data.total,
        items=line_items(data.items),
        kind=data.kind,
        booking=booking_of(data.booking),
        ticket=ticket_of(data.ticket),
    )


def _refused(event: IncomingEvent, field: str | None) -> None:
    """A well-formed event the rules refuse: retrying cannot help, so it is logged and dropped."""
    # Ids and the field's name only: never the customer's data.
    logger.warning(
        "event refused",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            "field": field,
        },
    )


@follows("order.placed")
def on_order_placed(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, OrderPlacedV1)
    try:
        order = order_of_event(data)
    except ValueError:
        _refused(event, "email")
        return
    problem = kind_problem(order)
    if problem is not None:
        _refused(event, problem[0])
        return
    try:
        (recorded,) = record_orders(event.metadata.store_id, [order])
    except UnknownReference:
        _refused(event, "customer_id")
        return
    if recorded.retry:
        raise OrderWriteConflict
    if recorded.result == "refused":
        _refused(event, recorded.field)


@follows("order.cancelled")
def on_order_cancelled(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, OrderCancelledV1)
    cancel_order(event.metadata.store_id, data.order_id, data.cancelled_at, reason=data.reason)


@follows("order.refunded")
def on_order_refunded(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, OrderRefundedV1)
    given = Refund(data.refund_id, data.refunded_at, data.amount, reason=data.reason)
    try:
        refund_order(event.metadata.store_id, data.order_id, given)
    except OrderRefused as refused:
        _refused(event, refused.field)


@follows("review.created")
def on_review_created(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, ReviewCreatedV1)
    try:
        email = None if data.email is None else normalise_email(data.email)
    except ValueError:
        _refused(event, "email")
        return
    review = Review(
        review_id=data.review_id,
        product_id=data.product_id,
        rating=data.rating,
        at=data.at,
        customer_id=data.customer_id,
        email=email,
        order_id=data.order_id,
    )
    try:
        post_review(event.metadata.store_id, review)
    except OrderRefused as refused:
        _refused(event, refused.field)
    except UnknownReference:
        _refused(event, "customer_id")
