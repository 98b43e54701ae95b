"""Routes of /orders, /reviews and a customer's orders. Each parses, calls a use case, answers."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.customers.errors import CustomerNotFound
from chalicelib.customers.http import cursor_position, listing_scope, next_cursor, problem_for
from chalicelib.customers.orders import usecases as order_usecases
from chalicelib.customers.orders.models import (
    CancellationIn,
    CancellationOut,
    OrderBatch,
    OrderBatchResult,
    OrderOut,
    OrderPage,
    OrderResult,
    OrdersQuery,
    RefundIn,
    RefundOut,
    ReviewIn,
    ReviewResult,
)
from chalicelib.customers.orders.rules import OrderNotFound, OrderRefused, OrderWriteConflict
from clientela import problems
from clientela.api import Call, Reply, Service
from clientela.problems import FieldError, Problem, UnknownReference

ORDERS_SCOPE = "customers:orders:v1"
# 100 orders of a few lines each pass 64 KB; API Gateway takes up to 10 MB.
MAX_BATCH_BODY = 4 * 1024 * 1024


def busy() -> Problem:
    return Problem(
        503,
        "write-conflict",
        "Busy",
        "Other changes to this customer are landing at the same moment; retry shortly",
        headers={"Retry-After": "1"},
    )


def _after(position: dict[str, object] | None) -> tuple[str, str] | None:
    if position is None:
        return None
    after, order_id = position.get("after"), position.get("order_id")
    if not isinstance(after, str) or not isinstance(order_id, str):
        raise problems.invalid([FieldError("cursor", "Invalid cursor")], "Invalid cursor")
    return after, order_id


def register(service: Service) -> None:
    register_changes(service)

    @service.route(
        "/orders",
        "POST",
        summary="Record placed orders (up to 100)",
        body=OrderBatch,
        response=OrderBatchResult,
        errors=(413, 422, 503),
        max_body=MAX_BATCH_BODY,
    )
    def record_orders(call: Call) -> Reply:
        """Each order is recorded on its own and answered with `created`, `already_recorded`
        (its id was recorded before: nothing changes, whatever it carries now) or `refused`
        (with the field and the reason; `retry` when sending it again later may succeed). A
        refused order does not stop the others. An order without `customer_id` counts for the
        customer with its e-mail, created (e-mail only) if the store has none. A body that is
        not a valid batch is refused as a whole (422, naming fields such as `orders.3.total`),
        and so is a batch where a new order names a `customer_id` the store does not have (422
        naming each `orders.N.customer_id`; nothing is recorded). Only a customer deleted while
        the batch is being written leaves its order `refused` on its own.
        """
        batch: OrderBatch = call.body
        try:
            recorded = order_usecases.record_orders(
                call.store_id, [order.to_order() for order in batch.orders]
            )
        except UnknownReference as unknown:
            raise unknown.within("orders") from None
        except OrderWriteConflict:  # DynamoDB kept throttling the batch's reads
            raise busy() from None
        return Reply(200, OrderBatchResult(results=[OrderResult.of(r) for r in recorded]))

    @service.route(
        "/customers/{customer_id}/orders",
        "GET",
        summary="List a customer's orders, newest first",
        query=OrdersQuery,
        response=OrderPage,
        errors=(404,),
    )
    def list_customer_orders(call: Call, customer_id: str) -> Reply:
        """Every kind of order (shop products, booked services, event tickets), or only one
        `kind`. `when=upcoming` / `when=past` with `kind=booking` or `kind=ticket` lists the
        customer's schedule: those not cancelled that start from now on, soonest first, or
        that started before now, latest first. A page filtered by `kind` alone may hold
        fewer than `limit` orders (even none) and still have a cursor.
        """
        query: OrdersQuery = call.query
        bound = {"customer_id": customer_id, "kind": query.kind, "when": query.when}
        scope = listing_scope(ORDERS_SCOPE, {k: v for k, v in bound.items() if v is not None})
        after = _after(cursor_position(call.store_id, query.cursor, scope))
        try:
            orders, following = order_usecases.list_customer_orders(
                call.store_id,
                customer_id,
                limit=query.limit,
                after=after,
                kind=query.kind,
                upcoming=None if query.when is None else query.when == "upcoming",
            )
        except CustomerNotFound as error:
            raise problem_for(error) from None
        position = None if following is None else {"after": following[0], "order_id": following[1]}
        page = OrderPage(
            items=[OrderOut.of(order) for order in orders],
            next_cursor=next_cursor(call.store_id, position, scope),
        )
        return Reply(200, page)

    @service.route(
        "/reviews",
        "POST",
        summary="Record a product review",
        body=ReviewIn,
        response=ReviewResult,
        errors=(422, 503),
    )
    def post_review(call: Call) -> Reply:
        """Counts the rating in the customer's `rating_count` and `rating_sum`, once per
        `review_id`: sending it again answers `already_recorded` and changes nothing. A
        `customer_id` the store does not have: 422 naming it.
        """
        body: ReviewIn = call.body
        try:
            recorded = order_usecases.post_review(call.store_id, body.to_review())
        except OrderRefused as refused:
            raise problems.invalid([FieldError(refused.field, refused.reason)]) from None
        except OrderWriteConflict:
            raise busy() from None
        result = "created" if recorded.result == "created" else "already_recorded"
        return Reply(
            200,
            ReviewResult(review_id=recorded.id, result=result, customer_id=recorded.customer_id),
        )


def register_changes(service: Service) -> None:
    """Cancellations and refunds of placed orders, for integrators without the bus."""

    @service.route(
        "/orders/{order_id}/cancellation",
        "POST",
        summary="Cancel a placed order",
        body=CancellationIn,
        response=CancellationOut,
        status=201,
        errors=(404, 422, 503),
    )
    def cancel_order(call: Call, order_id: str) -> Reply:
        """The order leaves its customer's aggregates (`orders_count`, `total_spent`, first and
        last order) and the reports, and an `order_cancelled` entry joins the timeline: the
        same as an `order.cancelled` event from the store platform. Sending it again answers
        as the first time and changes nothing; with another `reason`: 422. An order not placed
        in this store: 404. The service publishes `order.cancelled` (source
        `clientela.customers`) for cancellations recorded here.
        """
        body: CancellationIn = call.body
        try:
            changed = order_usecases.cancel_order(
                call.store_id,
                order_id,
                body.cancelled_at or datetime.now(UTC),
                reason=body.reason,
                requested=True,
            )
        except OrderNotFound:
            raise problems.not_found("order") from None
        except OrderRefused as refused:
            raise problems.invalid([FieldError(refused.field, refused.reason)]) from None
        except OrderWriteConflict:
            raise busy() from None
        assert changed.order is not None
        return Reply(201, CancellationOut.of(changed.order))

    @service.route(
        "/orders/{order_id}/refunds",
        "POST",
        summary="Record a refund of a placed order",
        body=RefundIn,
        response=RefundOut,
        status=201,
        errors=(404, 422, 503),
    )
    def refund_order(call: Call, order_id: str) -> Reply:
        """Takes `amount` off what the order counts for in `total_spent` and the reports, and
        adds an `order_refunded` entry to the timeline: the same as an `order.refunded` event
        from the store platform. Several partial refunds may follow one another; together they
        never exceed the order's total (422 naming `amount`, saying what is left). Idempotent
        by `refund_id`: the same body again answers as the first time; another body with the
        same id: 422. An order not placed in this store: 404. The service publishes
        `order.refunded` (source `clientela.customers`) for refunds recorded here.
        """
        body: RefundIn = call.body
        try:
            changed = order_usecases.refund_order(
                call.store_id, order_id, body.to_refund(datetime.now(UTC)), requested=True
            )
        except OrderNotFound:
            raise problems.not_found("order") from None
        except OrderRefused as refused:
            raise problems.invalid([FieldError(refused.field, refused.reason)]) from None
        except OrderWriteConflict:
            raise busy() from None
        assert changed.order is not None
        assert changed.refund is not None
        return Reply(201, RefundOut.of(changed.order, changed.refund))
