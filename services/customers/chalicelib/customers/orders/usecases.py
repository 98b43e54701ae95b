"""What the customers service does with orders, refunds, cancellations, reviews and reports.

The same use cases serve `POST /orders`, `POST /reviews` and the store platform's events on
the inbox (handlers at the end, registered with `@follows`). Each is idempotent on its natural
id (order id, refund id, review id) and tolerant of order: a cancellation or refund that
arrives before its order waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from aws_lambda_powertools import Logger

from chalicelib.customers import keys
from chalicelib.customers.errors import EmailAlreadyUsed
from chalicelib.customers.orders.reports import rules as reports
from chalicelib.customers.orders.reports.rules import (
    CatalogueFilter,
    FrequencyCriteria,
    Period,
    Row,
)
from chalicelib.customers.orders.rules import (
    MAX_STORED_BYTES,
    Delta,
    Order,
    OrderNotFound,
    OrderRefused,
    OrderWriteConflict,
    Pending,
    Refund,
    Review,
    cancel,
    is_order_id,
    place,
    refund,
    seen_moving,
    stored_size,
)
from chalicelib.customers.orders.store import (
    Bounds,
    Contended,
    OrderStore,
    StaleCustomer,
    StaleOrder,
)
from chalicelib.customers.profiles import usecases
from chalicelib.customers.settings import settings
from clientela import aws
from clientela.ids import is_id
from clientela.problems import UnknownReference
from clientela.retry import back_off

logger = Logger(service="customers")
_ATTEMPTS = 5
NO_CUSTOMER = "No customer with this id in this store"
TOO_LARGE = "The order's lines are too long to store: at most about 170 KB of text"
BUSY = "Other changes to this customer landed at the same moment; send it again"

Result = Literal["created", "already_recorded", "refused"]
Outcome = Literal["applied", "already_recorded", "waiting_for_order"]


@dataclass(frozen=True)
class Recorded:
    """What became of one order (or review) handed in."""

    id: str
    result: Result
    customer_id: str | None = None
    field: str | None = None
    reason: str | None = None
    retry: bool = False  # refused only for now: the same request may succeed later


def order_store() -> OrderStore:
    return OrderStore(aws.dynamodb(), settings().table)


class _Customers:
    """Who orders and reviews belong to, with the aggregates dates read once per batch."""

    def __init__(self, store: OrderStore, store_id: str) -> None:
        self._store = store
        self._store_id = store_id
        self.owners: dict[str, str] = {}
        self.bounds: dict[str, Bounds] = {}

    def prefetch(self, customer_ids: Iterable[str | None], emails: Iterable[str | None]) -> None:
        """Reads, in batches, the owners of the e-mails and the customers named or found."""
        self.owners.update(self._store.email_owners(self._store_id, {e for e in emails if e}))
        wanted = {cid for cid in customer_ids if cid and is_id(cid)} | set(self.owners.values())
        self.bounds.update(self._store.bounds(self._store_id, wanted))

    def refresh(self, customer_id: str) -> None:
        found = self._store.bounds(self._store_id, [customer_id]).get(customer_id)
        if found is None:
            self.bounds.pop(customer_id, None)
        else:
            self.bounds[customer_id] = found

    def resolve(self, customer_id: str | None, email: str | None) -> str:
        """The customer named, or the one with this e-mail, created (e-mail only) if none is.

        Raises OrderRefused when a customer id is named that the store does not have, and
        StaleCustomer when the e-mail's customer is being created or deleted at this moment.
        """
        if customer_id is not None:
            if customer_id not in self.bounds:
                raise OrderRefused("customer_id", NO_CUSTOMER)
            return customer_id
        assert email is not None
        owner = self.owners.get(email)
        if owner is not None and owner in self.bounds:
            return owner
        try:
            owner = usecases.create_customer(self._store_id, {"email": email}).id
            self.bounds[owner] = Bounds()
        except EmailAlreadyUsed as taken:  # signed up a moment ago
            owner = taken.existing_id
            self.refresh(owner)
            if owner not in self.bounds:
                raise StaleCustomer from None
        self.owners[email] = owner
        return owner


# Orders -----------------------------------------------------------------------------------


def record_orders(store_id: str, orders: Sequence[Order]) -> list[Recorded]:
    """Records placed orders, each on its own: one refused never stops the others.

    Reads every order, e-mail owner and customer of the batch first (BatchGetItem), then
    writes each new order in one transaction. An order recorded before is `already_recorded`
    and changes nothing, whatever it carries now.

    Raises UnknownReference (fields `<index>.customer_id`), before anything is written, when a
    new order names a customer id the store does not have: that is the caller's mistake, not
    an outcome of the order.
    """
    store = order_store()
    known = store.orders(store_id, {order.order_id for order in orders})
    customers = _Customers(store, store_id)
    customers.prefetch(
        (order.customer_id for order in orders),
        (order.email for order in orders if order.customer_id is None),
    )
    unknown = [
        f"{index}.customer_id"
        for index, order in enumerate(orders)
        if order.customer_id is not None
        and order.customer_id not in customers.bounds
        and not isinstance(known.get(order.order_id), Order)
    ]
    if unknown:
        raise UnknownReference("customer", *unknown)
    return [_record(store, store_id, order, known, customers) for order in orders]


def _record(
    store: OrderStore,
    store_id: str,
    order: Order,
    known: dict[str, Order | Pending],
    customers: _Customers,
) -> Recorded:
    if stored_size(order) > MAX_STORED_BYTES:
        return Recorded(order.order_id, "refused", None, "items", TOO_LARGE)
    for attempt in range(_ATTEMPTS):
        existing = known.get(order.order_id)
        if isinstance(existing, Order):
            return Recorded(order.order_id, "already_recorded", existing.customer_id)
        try:
            customer_id = customers.resolve(order.customer_id, order.email)
        except OrderRefused as refused:
            return Recorded(order.order_id, "refused", None, refused.field, refused.reason)
        except StaleCustomer:
            back_off(attempt)
            continue
        placed = place(replace(order, customer_id=customer_id), existing)
        bounds = customers.bounds[customer_id]
        seen = seen_moving(order.placed_at, bounds.seen, datetime.now(UTC))
        try:
            customers.bounds[customer_id] = store.place(
                store_id, placed, before=existing, bounds=bounds, seen=seen
            )
        except StaleOrder:  # placed meanwhile, or its placeholder changed
            current = store.order(store_id, order.order_id)
            if current is not None:
                known[order.order_id] = current
            continue
        except StaleCustomer:
            customers.refresh(customer_id)
            continue
        except Contended:
            back_off(attempt)
            continue
        known[order.order_id] = placed
        return Recorded(order.order_id, "created", customer_id)
    return Recorded(order.order_id, "refused", None, "order_id", BUSY, retry=True)


def _change(
    store: OrderStore, store_id: str, before: Order, after: Order, delta: Delta, *, last_try: bool
) -> None:
    """Writes a cancellation or refund of a placed order with what it does to the aggregates.

    A cancelled order that was its customer's first or last leaves those dates to the counted
    orders that remain, read from the index `by_owner`. The index may lag: unless it holds as
    many as the customer's `orders_count` says (or this is the last try), try again shortly.
    """
    customer_id = before.customer_id
    assert customer_id is not None
    read = store.bounds(store_id, [customer_id]).get(customer_id)
    if read is None:  # the customer was deleted: the order alone changes
        store.change(store_id, before, after, delta=delta, bounds=None)
        return
    new = read
    stamp = keys.stamp(before.placed_at)
    if before.counted and not after.counted and stamp in (read.first, read.last):
        others = store.counted_placings(store_id, customer_id, without=before.order_id)
        if len(others) != read.orders - 1 and not last_try:
            raise Contended
        new = Bounds(min(others, default=None), max(others, default=None))
    store.change(store_id, before, after, delta=delta, bounds=(read, new))


@dataclass(frozen=True)
class Changed:
    """What a cancellation or refund did, and the order after it (None while it waits)."""

    outcome: Outcome
    order: Order | None = None
    refund: Refund | None = None  # the refund as recorded (refunds only)


SAME_REFUND = "This refund id was recorded before with another amount or reason"
OTHER_CANCELLATION = "The order was cancelled before with another reason"


def cancel_order(
    store_id: str,
    order_id: str,
    at: datetime,
    *,
    reason: str | None = None,
    requested: bool = False,
) -> Changed:
    """Cancels an order: it leaves its customer's aggregates.

    From the store platform's events (`requested` False) it is a fact: before the order is
    placed it waits for it. A request (the HTTP API) needs the order placed (OrderNotFound),
    and a repeated one answers as the first, unless it gives another reason (OrderRefused).
    """
    if requested and not is_order_id(order_id):
        raise OrderNotFound
    store = order_store()
    for attempt in range(_ATTEMPTS):
        current = store.order(store_id, order_id)
        try:
            if not isinstance(current, Order):
                if requested:
                    raise OrderNotFound
                if current is not None and current.cancelled_at is not None:
                    return Changed("already_recorded")
                store.keep_pending(
                    store_id, order_id, current, replace(current or Pending(), cancelled_at=at)
                )
                return Changed("waiting_for_order")
            cancelled, delta = cancel(current, at, reason=reason, via_api=requested)
            if cancelled is current:
                if requested and reason is not None and reason != current.cancel_reason:
                    raise OrderRefused("reason", OTHER_CANCELLATION)
                return Changed("already_recorded", current)
            last_try = attempt == _ATTEMPTS - 1
            _change(store, store_id, current, cancelled, delta, last_try=last_try)
        except (StaleOrder, StaleCustomer):
            continue
        except Contended:
            back_off(attempt)
            continue
        return Changed("applied", cancelled)
    raise OrderWriteConflict


def refund_order(
    store_id: str, order_id: str, given: Refund, *, requested: bool = False
) -> Changed:
    """Takes a refund off what the order counts for; once per refund id.

    From the store platform's events (`requested` False) it is a fact: before the order it
    waits, and it never takes more than is left. A request (the HTTP API) needs the order
    placed (OrderNotFound) and an amount no larger than what is left (OrderRefused `amount`);
    a repeated refund id answers as the first, unless amount or reason differ (OrderRefused).
    """
    if requested and not is_order_id(order_id):
        raise OrderNotFound
    store = order_store()
    given = replace(given, via_api=requested)
    for attempt in range(_ATTEMPTS):
        current = store.order(store_id, order_id)
        try:
            if not isinstance(current, Order):
                if requested:
                    raise OrderNotFound
                waiting = current or Pending()
                if waiting.knows(given.refund_id):
                    return Changed("already_recorded")
                after = replace(waiting, refunds=(*waiting.refunds, given))
                store.keep_pending(store_id, order_id, current, after)
                return Changed("waiting_for_order")
            known = current.refund_of(given.refund_id)
            if known is not None:
                if requested and (known.amount, known.reason) != (given.amount, given.reason):
                    raise OrderRefused("refund_id", SAME_REFUND)
                return Changed("already_recorded", current, known)
            if requested and given.amount is not None and given.amount > current.refundable:
                left = current.refundable
                raise OrderRefused("amount", f"At most {left} {current.currency} is left to refund")
            refunded, delta = refund(current, given)
            _change(store, store_id, current, refunded, delta, last_try=True)
        except (StaleOrder, StaleCustomer):
            continue
        except Contended:
            back_off(attempt)
            continue
        return Changed("applied", refunded, refunded.refund_of(given.refund_id))
    raise OrderWriteConflict


def list_customer_orders(
    store_id: str,
    customer_id: str,
    *,
    limit: int,
    after: tuple[str, str] | None,
    kind: str | None = None,
    upcoming: bool | None = None,
    now: datetime | None = None,
) -> tuple[list[Order], tuple[str, str] | None]:
    """A page of the customer's orders, newest first, and where the next page starts.

    Only of `kind` if given; with `upcoming` True or False (bookings and tickets only), those
    not cancelled that take place from now on (soonest first) or took place before (latest
    first). Raises CustomerNotFound.
    """
    usecases.get_customer(store_id, customer_id)
    moment = keys.stamp(now or datetime.now(UTC))
    when = None if upcoming is None else (moment, upcoming)
    return order_store().orders_page(
        store_id, customer_id, limit=limit, after=after, kind=kind, when=when
    )


@dataclass(frozen=True)
class Schedule:
    """What a profile shows of a customer's bookings: how many are to come, and the next."""

    upcoming: int
    next: Order | None


def booking_schedule(store_id: str, customer_id: str, now: datetime | None = None) -> Schedule:
    """The customer's bookings to come (not cancelled, starting from now on)."""
    moment = keys.stamp(now or datetime.now(UTC))
    coming = order_store().upcoming(store_id, customer_id, "booking", moment)
    return Schedule(len(coming), coming[0] if coming else None)


# Reviews ----------------------------------------------------------------------------------


def post_review(store_id: str, review: Review) -> Recorded:
    """Counts a rating in the customer's `rating_count` / `rating_sum`, once per review id.

    The customer is the one named, or the one with the e-mail (created if there is none).
    Raises UnknownReference for a customer id the store does not have, OrderWriteConflict.
    """
    store = order_store()
    customers = _Customers(store, store_id)
    customers.prefetch([review.customer_id], [] if review.customer_id else [review.email])
    if review.customer_id is not None and review.customer_id not in customers.bounds:
        raise UnknownReference("customer", "customer_id")
    for attempt in range(_ATTEMPTS):
        try:
            customer_id = customers.resolve(review.customer_id, review.email)
        except StaleCustomer:
            back_off(attempt)
            continue
        read = customers.bounds.get(customer_id)
        seen = seen_moving(review.at, read.seen if read else None, datetime.now(UTC))
        try:
            store.add_review(store_id, replace(review, customer_id=customer_id), seen=seen)
        except StaleOrder:
            owner = store.review_owner(store_id, review.review_id)
            return Recorded(review.review_id, "already_recorded", owner)
        except StaleCustomer:
            customers.refresh(customer_id)
            continue
        except Contended:
            back_off(attempt)
            continue
        return Recorded(review.review_id, "created", customer_id)
    raise OrderWriteConflict


# Reports ----------------------------------------------------------------------------------


def sales_report(
    store_id: str, period: Period, catalogue: CatalogueFilter, kinds: frozenset[str] | None = None
) -> list[Row]:
    """Customers by catalogue sales: the period's orders with matching lines, by e-mail.

    Only orders of `kinds` if given (bookings, tickets, products)."""
    facts = order_store().facts_between(store_id, period.start, period.end, with_items=True)
    return reports.sales_by_customer(reports.of_kinds(facts, kinds), period, catalogue)


def frequency_report(
    store_id: str, period: Period, criteria: FrequencyCriteria, kinds: frozenset[str] | None = None
) -> list[Row]:
    """Customers by purchase frequency: the period's orders by e-mail, then the criteria.

    Only orders of `kinds` if given."""
    facts = order_store().facts_between(store_id, period.start, period.end, with_items=False)
    return reports.purchase_frequency(reports.of_kinds(facts, kinds), period, criteria)
