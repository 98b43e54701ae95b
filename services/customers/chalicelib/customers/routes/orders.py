"""Routes of /orders, /reviews and a customer's orders. Each parses, calls a use case, answers."""

from __future__ import annotations

from chalicelib.customers import order_usecases
from chalicelib.customers.domain import CustomerNotFound
from chalicelib.customers.http import cursor_position, listing_scope, next_cursor, problem_for
from chalicelib.customers.order_models import (
    OrderBatch,
    OrderBatchResult,
    OrderOut,
    OrderPage,
    OrderResult,
    PageQuery,
    ReviewIn,
    ReviewResult,
)
from chalicelib.customers.orders import OrderRefused, OrderWriteConflict
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
        query=PageQuery,
        response=OrderPage,
        errors=(404,),
    )
    def list_customer_orders(call: Call, customer_id: str) -> Reply:
        query: PageQuery = call.query
        scope = listing_scope(ORDERS_SCOPE, {"customer_id": customer_id})
        after = _after(cursor_position(call.store_id, query.cursor, scope))
        try:
            orders, following = order_usecases.list_customer_orders(
                call.store_id, customer_id, limit=query.limit, after=after
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
