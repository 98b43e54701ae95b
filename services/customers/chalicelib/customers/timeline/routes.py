"""Routes of a customer's timeline and of the store's activity feed."""

from __future__ import annotations

from chalicelib.customers.errors import CustomerNotFound
from chalicelib.customers.settings import settings
from chalicelib.customers.timeline.models import (
    ActivityBatch,
    ActivityIn,
    ActivityResult,
    ActivityResults,
    TimelineItem,
    TimelinePage,
    TimelineQuery,
)
from chalicelib.customers.timeline.rules import Kind, ProductActivity
from chalicelib.customers.timeline.store import TimelineBusy
from chalicelib.customers.timeline.usecases import ActivityItem, list_timeline, record_activity
from clientela import problems
from clientela.api import Call, Reply, Service
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value

TIMELINE_SCOPE = "customers:timeline:v1"
_MAX_POSITION = 200


def _scope(customer_id: str, kinds: frozenset[Kind] | None) -> str:
    """A cursor belongs to one customer's timeline under one filter."""
    return f"{TIMELINE_SCOPE}:{customer_id}:{','.join(sorted(kinds or ()))}"


def _cursor_key() -> str:
    return secret_value(settings().cursor_key_secret)


def _position(store_id: str, scope: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, store_id=store_id, scope=scope, key=_cursor_key())
    after = position.get("after")
    if not isinstance(after, str) or not after.startswith("T#") or len(after) > _MAX_POSITION:
        raise problems.invalid([FieldError("cursor", "Invalid cursor")], "Invalid cursor")
    return after


def _busy() -> Problem:
    return Problem(
        503,
        "write-conflict",
        "Busy",
        "Other changes to these customers are landing at the same moment; retry shortly",
        headers={"Retry-After": "1"},
    )


def _item(given: ActivityIn) -> ActivityItem:
    activity = ProductActivity(
        kind=Kind(given.kind),
        at=given.at,
        product_id=given.product_id,
        sku=given.sku,
        name=given.name,
        brand=given.brand,
        category=given.category,
        price=given.price,
        currency=given.currency,
        quantity=given.quantity,
        device=given.device,
    )
    return ActivityItem(
        event_id=given.event_id,
        activity=activity,
        customer_id=given.customer_id,
        email=given.email,
        ip=str(given.ip) if given.ip is not None else None,
    )


def register(service: Service) -> None:
    @service.route(
        "/customers/{customer_id}/timeline",
        "GET",
        summary="A customer's timeline, newest first",
        query=TimelineQuery,
        response=TimelinePage,
        errors=(404,),
    )
    def get_timeline(call: Call, customer_id: str) -> Reply:
        """Orders, reviews, shopping activity, e-mails, messages, credits and profile changes.

        `kind` (repeatable) keeps only entries of those kinds. Product views are kept for 90
        days. A page may hold fewer than `limit` entries when a filter skips many; follow
        `next_cursor` until it is null.
        """
        query: TimelineQuery = call.query
        kinds = query.kinds()
        scope = _scope(customer_id, kinds)
        after = _position(call.store_id, scope, query.cursor)
        try:
            entries, last = list_timeline(
                call.store_id, customer_id, kinds=kinds, limit=query.limit, after=after
            )
        except CustomerNotFound:
            raise problems.not_found("customer") from None
        cursor = None
        if last is not None:
            cursor = encode_cursor(
                {"after": last}, store_id=call.store_id, scope=scope, key=_cursor_key()
            )
        return Reply(
            200, TimelinePage(items=[TimelineItem.of(e) for e in entries], next_cursor=cursor)
        )

    @service.route(
        "/activity",
        "POST",
        summary="Record product views and cart changes",
        body=ActivityBatch,
        response=ActivityResults,
        errors=(413, 422, 503),
        max_body=256 * 1024,
    )
    def post_activity(call: Call) -> Reply:
        """Up to 100 items, each named by its own `event_id`: sending one again records nothing
        new. Shoppers are named by `customer_id` or `email`; one who is not a customer of the
        store gets `unknown_customer` and no profile is created. Each customer's `last_seen_at`
        moves to their newest activity (orders and reviews move it too), never back;
        `last_device` and `last_ip` keep the newest value known of each: an item without them
        leaves them as they are.
        """
        batch: ActivityBatch = call.body
        try:
            outcomes = record_activity(call.store_id, [_item(given) for given in batch.items])
        except TimelineBusy:
            raise _busy() from None
        return Reply(200, ActivityResults(results=[ActivityResult.of(o) for o in outcomes]))
