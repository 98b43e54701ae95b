"""Where orders, reviews and the customer aggregates they feed live in the customers table.

Items (see keys.py): an order is `pk=STORE#<s>#ORDER#<order id>`, `sk=ORDER#<order id>`; it
carries `owner` and `owner_sk` (index `by_owner`: a customer's orders, newest first) and
`orders_key` (the store shard `STORE#<s>#<shard>`) with `placed_at` (index `orders_by_date`: a
store's orders by date, for reports, one Query per shard). An order heard of only through an
early cancellation or refund is a placeholder without `placed_at` or `owner`, so no index
holds it. A review leaves a marker `STORE#<s>#REVIEW#<review id>` so it counts once.

Every change writes the order (or review marker), the customer's aggregates (UpdateItem: ADD
for counts and money, SET for first and last order dates, never a Put of the customer) and a
timeline entry in ONE transaction: a crash never half-applies one. Conditions on the order's
state and on the dates read make a replay or a lost race fail instead of counting twice; the
use cases re-read and try again.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.orders.reports.rules import LineFact, OrderFact
from chalicelib.customers.orders.rules import (
    Booking,
    Delta,
    LineItem,
    Order,
    OrderStatus,
    OrderWriteConflict,
    Pending,
    Refund,
    Review,
    Ticket,
    bounds_with,
    entry_id,
)
from chalicelib.customers.profiles.store import CustomerStore
from clientela import money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
BY_OWNER = "by_owner"
BY_SCHEDULE = "by_schedule"
# An order listing filtered by kind reads on until its page is full, but never more than this
# many orders per request: a rare kind in a long history answers a short page with a cursor.
READ_BUDGET = 1000
_FILTERED_READ = 200
ORDERS_BY_DATE = "orders_by_date"
_BATCH_GET_KEYS = 100
_BATCH_ATTEMPTS = 6
_TOKEN_NAMESPACE = uuid.UUID("9a7e3c21-58d4-4b0f-8e6a-2f1c0d9b7a65")
_MAX_TIMELINE_ENTRIES = 20  # per transaction (limit 100 actions); more early refunds: rare


class StaleOrder(Exception):
    """The order item is not in the state it was read in (or exists already)."""


class StaleCustomer(Exception):
    """The customer is gone, or its first / last order dates changed since they were read."""


class Contended(Exception):
    """DynamoDB refused the transaction because another one held the same items."""


@dataclass(frozen=True)
class Bounds:
    """A customer's first and last counted order (stamps), as read with the customer.

    `orders` (its orders_count as read) and `seen` (its last_seen_at as read) do not take part
    in comparisons.
    """

    first: str | None = None
    last: str | None = None
    orders: int = field(default=0, compare=False)
    seen: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Entry:
    """One timeline entry of a customer: what happened, when, and a little data (no secrets)."""

    kind: str
    at: datetime
    entry_id: str
    data: dict[str, Any]


# Key shapes -------------------------------------------------------------------------------


def _key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def order_key(store_id: str, order_id: str) -> Item:
    return keys.entity_key(store_id, keys.ORDER_PREFIX + order_id)


def customer_key(store_id: str, customer_id: str) -> Item:
    return keys.entity_key(store_id, keys.customer_sk(customer_id))


def email_key(store_id: str, email: str) -> Item:
    return keys.entity_key(store_id, keys.EMAIL_PREFIX + email)


def review_key(store_id: str, review_id: str) -> Item:
    return keys.entity_key(store_id, keys.REVIEW_PREFIX + review_id)


# A purchase or a review is activity: `last_seen_at` (and the index `by_last_seen` that the
# `status` filter reads) moves forward with it, never back; the condition makes a write that
# raced a later activity fail (StaleCustomer), and the use case re-reads and tries again.
_SEEN_SET = "last_seen_at = :seen, last_seen_key = :seen"
_SEEN_CONDITION = "(attribute_not_exists(last_seen_at) OR last_seen_at < :seen)"


def replace_seen(bounds: Bounds, seen: str | None) -> Bounds:
    """The bounds once `last_seen_at` moved to `seen` (None: it does not move)."""
    return bounds if seen is None else dataclass_replace(bounds, seen=seen)


def owner_sk(placed_at: str, order_id: str) -> str:
    return f"{placed_at}#{order_id}"


def schedule_sk(kind: str, at: str, order_id: str) -> str:
    """Index `by_schedule`: a customer's bookings (or tickets) by when they take place."""
    return f"{kind}#{at}#{order_id}"


# Values -----------------------------------------------------------------------------------


def _n(value: Decimal | int) -> dict[str, str]:
    """A DynamoDB number, exact, in fixed point and as DynamoDB keeps it: "100.00" is "100"."""
    return {"N": str(value) if isinstance(value, int) else _decimal_text(value)}


def _decimal_text(value: Decimal) -> str:
    return format((value + 0).normalize(), "f")  # + 0: no "-0"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _value(value: Any) -> Item:
    """Plain JSON-like data (timeline `data`) as a DynamoDB value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return _n(value)
    if isinstance(value, dict):
        return {"M": {k: _value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_value(v) for v in value]}
    return _s(str(value))


def _line_item(line: LineItem) -> Item:
    attributes: Item = {
        "product_id": _s(line.product_id),
        "sku": _s(line.sku),
        "name": _s(line.name),
        "quantity": _n(line.quantity),
        "unit_price": _n(line.unit_price),
    }
    if line.brand is not None:
        attributes["brand"] = _s(line.brand)
    if line.category is not None:
        attributes["category"] = _s(line.category)
    return {"M": attributes}


def _refund(r: Refund) -> Item:
    attributes: Item = {
        "at": _s(keys.stamp(r.at)),
        "amount": {"NULL": True} if r.amount is None else _n(r.amount),
    }
    if r.reason is not None:
        attributes["reason"] = _s(r.reason)
    if r.via_api:
        attributes["via"] = _s("api")
    return {"M": attributes}


def _refunds(refunds: Iterable[Refund]) -> Item:
    return {"M": {r.refund_id: _refund(r) for r in refunds}}


def order_item(store_id: str, order: Order, *, shards: int = 1) -> Item:
    """The stored form of a placed order (also what the bench seeds the table with), in one of
    the store's `shards` for the date index."""
    assert order.customer_id is not None
    placed_at = keys.stamp(order.placed_at)
    item: Item = {
        **order_key(store_id, order.order_id),
        "entity": _s("order"),
        "order_id": _s(order.order_id),
        "email": _s(order.email),
        "customer_id": _s(order.customer_id),
        "placed_at": _s(placed_at),
        "orders_key": _s(keys.list_pk(store_id, keys.shard_of(order.order_id, shards))),
        "currency": _s(order.currency),
        "total": _n(order.total),
        "items": {"L": [_line_item(line) for line in order.items]},
        "report": _s(report_text(placed_at, order)),
        "status": _s(order.status),
        "counted": {"BOOL": order.counted},
        "refunded_total": _n(order.refunded_total),
        "refunds": _refunds(order.refunds),
        "owner": _s(keys.customer_pk(store_id, order.customer_id)),
        "owner_sk": _s(owner_sk(placed_at, order.order_id)),
    }
    if order.cancelled_at is not None:
        item["cancelled_at"] = _s(keys.stamp(order.cancelled_at))
    item["kind"] = _s(order.kind)
    if order.booking is not None:
        item["booking"] = {
            "M": {
                "service_id": _s(order.booking.service_id),
                "starts_at": _s(keys.stamp(order.booking.starts_at)),
                "ends_at": _s(keys.stamp(order.booking.ends_at)),
                **_optional("service_name", order.booking.service_name),
            }
        }
    if order.ticket is not None:
        item["ticket"] = {
            "M": {
                "event_id": _s(order.ticket.event_id),
                "event_at": _s(keys.stamp(order.ticket.event_at)),
                **_optional("event_name", order.ticket.event_name),
            }
        }
    scheduled = order.scheduled_at
    if scheduled is not None and order.counted:  # a cancelled one is off the schedule
        item["schedule_sk"] = _s(schedule_sk(order.kind, keys.stamp(scheduled), order.order_id))
    if order.cancel_reason is not None:
        item["cancel_reason"] = _s(order.cancel_reason)
    if order.cancelled_via_api:
        item["cancelled_via"] = _s("api")
    if order.placed_via_api:
        item["placed_via"] = _s("api")
    return item


def _optional(name: str, value: str | None) -> Item:
    return {} if value is None else {name: _s(value)}


def _read_booking(item: Item) -> Booking | None:
    if "booking" not in item:
        return None
    data = item["booking"]["M"]
    return Booking(
        service_id=data["service_id"]["S"],
        starts_at=keys.parse_stamp(data["starts_at"]["S"]),
        ends_at=keys.parse_stamp(data["ends_at"]["S"]),
        service_name=data["service_name"]["S"] if "service_name" in data else None,
    )


def _read_ticket(item: Item) -> Ticket | None:
    if "ticket" not in item:
        return None
    data = item["ticket"]["M"]
    return Ticket(
        event_id=data["event_id"]["S"],
        event_at=keys.parse_stamp(data["event_at"]["S"]),
        event_name=data["event_name"]["S"] if "event_name" in data else None,
    )


def pending_item(store_id: str, order_id: str, pending: Pending) -> Item:
    item: Item = {
        **order_key(store_id, order_id),
        "entity": _s("order"),
        "order_id": _s(order_id),
        "status": _s(pending.status),
        "refunds": _refunds(pending.refunds),
    }
    if pending.cancelled_at is not None:
        item["cancelled_at"] = _s(keys.stamp(pending.cancelled_at))
    return item


def _read_refunds(item: Item) -> tuple[Refund, ...]:
    found = []
    for refund_id, value in item.get("refunds", {}).get("M", {}).items():
        data = value["M"]
        amount = data.get("amount", {}).get("N")
        found.append(
            Refund(
                refund_id,
                keys.parse_stamp(data["at"]["S"]),
                None if amount is None else Decimal(amount),
                reason=data["reason"]["S"] if "reason" in data else None,
                via_api=data.get("via", {}).get("S") == "api",
            )
        )
    return tuple(sorted(found, key=lambda r: (r.at, r.refund_id)))


def _read_line(item: Item) -> LineItem:
    return LineItem(
        product_id=item["product_id"]["S"],
        sku=item["sku"]["S"],
        name=item["name"]["S"],
        quantity=int(item["quantity"]["N"]),
        unit_price=Decimal(item["unit_price"]["N"]),
        brand=item["brand"]["S"] if "brand" in item else None,
        category=item["category"]["S"] if "category" in item else None,
    )


def read_order(item: Item) -> Order | Pending:
    """A stored order, or the placeholder of one not yet placed."""
    cancelled = item.get("cancelled_at", {}).get("S")
    cancelled_at = keys.parse_stamp(cancelled) if cancelled else None
    if "placed_at" not in item:
        return Pending(cancelled_at=cancelled_at, refunds=_read_refunds(item))
    status: OrderStatus = item["status"]["S"]
    return Order(
        order_id=item["order_id"]["S"],
        email=item["email"]["S"],
        placed_at=keys.parse_stamp(item["placed_at"]["S"]),
        currency=item["currency"]["S"],
        total=Decimal(item["total"]["N"]),
        items=tuple(_read_line(line["M"]) for line in item["items"]["L"]),
        customer_id=item["customer_id"]["S"],
        status=status,
        refunded_total=Decimal(item["refunded_total"]["N"]),
        cancelled_at=cancelled_at,
        refunds=_read_refunds(item),
        cancel_reason=item["cancel_reason"]["S"] if "cancel_reason" in item else None,
        cancelled_via_api=item.get("cancelled_via", {}).get("S") == "api",
        placed_via_api=item.get("placed_via", {}).get("S") == "api",
        kind=item.get("kind", {}).get("S", "product"),
        booking=_read_booking(item),
        ticket=_read_ticket(item),
    )


def _report_line(line: LineItem) -> list[Any]:
    price = _decimal_text(line.unit_price)
    return [line.product_id, line.sku, line.brand, line.category, line.quantity, price]


def report_text(placed_at: str, order: Order) -> str:
    """What the reports read of an order, as one compact JSON string (attribute `report`).

    The order's own attributes, repeated (line names left out). botocore parses a list of
    maps at about 0.2 ms per order and even plain attributes at some 4 us each (bench:
    reports); one string per order costs next to nothing, and json.loads runs in C. The item
    is always written whole (`order_item`), so the copy cannot drift from the attributes.
    """
    fields = [
        order.order_id,
        order.email,
        order.customer_id,
        placed_at,
        order.currency,
        _decimal_text(order.total),
        _decimal_text(order.refunded_total),
        order.status == "cancelled",
        [_report_line(line) for line in order.items],
        order.kind,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def report_fact(item: Item, *, with_lines: bool = True) -> OrderFact:
    """An order as the reports read it, from its `report` attribute."""
    oid, email, cid, placed_at, currency, total, refunded, cancelled, lines, *rest = json.loads(
        item["report"]["S"]
    )
    kind = rest[0] if rest else "product"  # written before orders had kinds
    facts = (
        tuple(LineFact(p, s, b, c, q, Decimal(price)) for p, s, b, c, q, price in lines)
        if with_lines
        else ()
    )
    return OrderFact(
        oid,
        email,
        cid,
        placed_at,
        currency,
        Decimal(total),
        Decimal(refunded),
        cancelled,
        facts,
        kind,
    )


def timeline_item(store_id: str, customer_id: str, entry: Entry) -> Item:
    at = keys.stamp(entry.at)
    return {
        **_key(
            keys.customer_pk(store_id, customer_id),
            f"{keys.TIMELINE_PREFIX}{at}#{entry.entry_id}",
        ),
        "entity": _s("timeline"),
        "kind": _s(entry.kind),
        "at": _s(at),
        "entry_id": _s(entry.entry_id),
        "data": _value(entry.data),
    }


def order_entries(order: Order, before: Order | Pending | None = None) -> list[Entry]:
    """Timeline entries for what is new in `order` compared with `before` (None: all)."""
    placed = not isinstance(before, Order)
    entries = []
    if placed:
        entries.append(
            Entry(
                "purchased",
                order.placed_at,
                entry_id("purchased", order.order_id),
                {
                    "order_id": order.order_id,
                    "total": money.text(order.total, order.currency),
                    "currency": order.currency,
                    "items": sum(line.quantity for line in order.items),
                    **_kind_entry(order),
                },
            )
        )
    known = set() if placed or before is None else {r.refund_id for r in before.refunds}
    for r in order.refunds:
        if r.refund_id not in known and len(entries) < _MAX_TIMELINE_ENTRIES - 1:
            entries.append(
                Entry(
                    "order_refunded",
                    r.at,
                    entry_id("order_refunded", order.order_id, r.refund_id),
                    {
                        "order_id": order.order_id,
                        "refund_id": r.refund_id,
                        "amount": (
                            None if r.amount is None else money.text(r.amount, order.currency)
                        ),
                        "currency": order.currency,
                        **({"reason": r.reason} if r.reason else {}),
                    },
                )
            )
    was_cancelled = isinstance(before, Order) and before.status == "cancelled"
    if order.cancelled_at is not None and not was_cancelled:
        entries.append(
            Entry(
                "order_cancelled",
                order.cancelled_at,
                entry_id("order_cancelled", order.order_id),
                {
                    "order_id": order.order_id,
                    **({"reason": order.cancel_reason} if order.cancel_reason else {}),
                },
            )
        )
    return entries


def _kind_entry(order: Order) -> dict[str, Any]:
    """What a timeline entry shows of a booking or ticket (nothing for a product order)."""
    if order.booking is not None:
        return {
            "kind": order.kind,
            "service_id": order.booking.service_id,
            **({"service_name": order.booking.service_name} if order.booking.service_name else {}),
            "starts_at": keys.stamp(order.booking.starts_at),
            "ends_at": keys.stamp(order.booking.ends_at),
        }
    if order.ticket is not None:
        return {
            "kind": order.kind,
            "event_id": order.ticket.event_id,
            **({"event_name": order.ticket.event_name} if order.ticket.event_name else {}),
            "event_at": keys.stamp(order.ticket.event_at),
        }
    return {}


def review_entry(review: Review) -> Entry:
    data: dict[str, Any] = {
        "review_id": review.review_id,
        "product_id": review.product_id,
        "rating": review.rating,
    }
    if review.order_id:
        data["order_id"] = review.order_id
    return Entry("review_posted", review.at, entry_id("review_posted", review.review_id), data)


def _reasons(error: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


def _token(actions: list[Item]) -> str:
    """The same transaction always carries the same token: the SDK's retries are idempotent."""
    text = json.dumps(actions, sort_keys=True, separators=(",", ":"))
    return str(uuid.uuid5(_TOKEN_NAMESPACE, hashlib.sha256(text.encode()).hexdigest()))


class OrderStore:
    """Orders, reviews and customer aggregates of any store, always addressed by store id."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._shards = CustomerStore(client, table)  # the store's shard count, cached

    # Reads -----------------------------------------------------------------------------

    def _every(self, request: Item) -> Iterator[Item]:
        """Every item a query finds, page after page (`request` is changed to page on)."""
        while True:
            answer = self._db.query(**request)
            yield from answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _batch_get(self, wanted: Sequence[Item], projection: str | None = None) -> list[Item]:
        """Every item of `wanted` that exists, strongly consistent, 100 keys a request."""
        found: list[Item] = []
        unique = list({json.dumps(k, sort_keys=True): k for k in wanted}.values())
        for start in range(0, len(unique), _BATCH_GET_KEYS):
            request: Item = {
                "Keys": unique[start : start + _BATCH_GET_KEYS],
                "ConsistentRead": True,
            }
            if projection:
                request["ProjectionExpression"] = projection
            pending: dict[str, Any] | None = {self._table: request}
            for attempt in range(_BATCH_ATTEMPTS):
                answer = self._db.batch_get_item(RequestItems=pending)  # type: ignore[arg-type]
                found += answer.get("Responses", {}).get(self._table, [])
                pending = answer.get("UnprocessedKeys") or None
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)  # throttled: back off, as AWS advises
            else:
                raise OrderWriteConflict  # still throttled: the caller's caller retries later
        return found

    def orders(self, store_id: str, order_ids: Iterable[str]) -> dict[str, Order | Pending]:
        items = self._batch_get([order_key(store_id, oid) for oid in order_ids])
        return {item["order_id"]["S"]: read_order(item) for item in items}

    def order(self, store_id: str, order_id: str) -> Order | Pending | None:
        """The order; while the store is re-keyed, one still in the first layout is moved
        first, so what follows (a cancellation, a refund) writes where today's code does."""
        answer = self._db.get_item(
            TableName=self._table, Key=order_key(store_id, order_id), ConsistentRead=True
        )
        item = answer.get("Item")
        if item is None and self._shards.migrating(store_id):
            old_key = keys.first_layout_key(store_id, keys.ORDER_PREFIX + order_id)
            old = self._db.get_item(TableName=self._table, Key=old_key, ConsistentRead=True)
            if "Item" in old:
                self._shards.adopt_entity(store_id, dict(old["Item"]))
                answer = self._db.get_item(
                    TableName=self._table, Key=order_key(store_id, order_id), ConsistentRead=True
                )
                item = answer.get("Item")
        return read_order(item) if item else None

    def email_owners(self, store_id: str, emails: Iterable[str]) -> dict[str, str]:
        """The customer each e-mail is reserved by, for those that are (in either layout
        while the store is re-keyed)."""
        wanted = list(emails)
        items = self._batch_get([email_key(store_id, email) for email in wanted])
        prefix = keys.EMAIL_PREFIX
        owners = {i["sk"]["S"].removeprefix(prefix): i["customer_id"]["S"] for i in items}
        missing = [email for email in wanted if email not in owners]
        if missing and self._shards.migrating(store_id):
            old = [keys.first_layout_key(store_id, prefix + email) for email in missing]
            owners |= {
                i["sk"]["S"].removeprefix(prefix): i["customer_id"]["S"]
                for i in self._batch_get(old)
            }
        return owners

    def bounds(self, store_id: str, customer_ids: Iterable[str]) -> dict[str, Bounds]:
        """First and last order dates of each customer that exists (absent: no customer).

        While the store is re-keyed, a customer still in the first layout is moved first (an
        order updates its aggregates where today's code writes them)."""
        wanted = list(customer_ids)
        projection = "sk, first_order_at, last_order_at, orders_count, last_seen_at"
        items = self._batch_get([customer_key(store_id, cid) for cid in wanted], projection)
        found = {i["sk"]["S"] for i in items}
        missing = [cid for cid in wanted if keys.customer_sk(cid) not in found]
        if missing and self._shards.migrating(store_id):
            olds = self._batch_get(
                [keys.first_layout_key(store_id, keys.customer_sk(cid)) for cid in missing]
            )
            for old in olds:
                self._shards.adopt(store_id, old)
            moved = [customer_key(store_id, o["sk"]["S"].removeprefix("CUSTOMER#")) for o in olds]
            items += self._batch_get(moved, projection) if moved else []
        return {
            i["sk"]["S"].removeprefix(keys.CUSTOMER_PREFIX): Bounds(
                i.get("first_order_at", {}).get("S"),
                i.get("last_order_at", {}).get("S"),
                int(i.get("orders_count", {}).get("N", "0")),
                i.get("last_seen_at", {}).get("S"),
            )
            for i in items
        }

    def review_owner(self, store_id: str, review_id: str) -> str | None:
        """Whose the recorded review is (its marker in either layout while the store is
        re-keyed); None if it has no marker."""
        wanted = [review_key(store_id, review_id)]
        if self._shards.migrating(store_id):
            wanted.append(keys.first_layout_key(store_id, keys.REVIEW_PREFIX + review_id))
        for key in wanted:
            answer = self._db.get_item(
                TableName=self._table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="customer_id",
            )
            item = answer.get("Item")
            if item:
                return str(item["customer_id"]["S"])
        return None

    def counted_placings(self, store_id: str, customer_id: str, *, without: str) -> list[str]:
        """When each of the customer's counted orders but `without` was placed (index `by_owner`).

        The index lags the table by a moment: the caller compares the count with the
        customer's `orders_count` before trusting it.
        """
        request: Item = {
            "TableName": self._table,
            "IndexName": BY_OWNER,
            "KeyConditionExpression": "#owner = :owner",
            "FilterExpression": "counted = :yes AND order_id <> :without",
            "ProjectionExpression": "placed_at",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {
                ":owner": _s(keys.customer_pk(store_id, customer_id)),
                ":yes": {"BOOL": True},
                ":without": _s(without),
            },
        }
        return [str(item["placed_at"]["S"]) for item in self._every(request)]

    def orders_page(
        self,
        store_id: str,
        customer_id: str,
        *,
        limit: int,
        after: tuple[str, str] | None,
        kind: str | None = None,
        when: tuple[str, bool] | None = None,
    ) -> tuple[list[Order], tuple[str, str] | None]:
        """A page of the customer's orders and where the next page starts (None: the end).

        Newest first (index `by_owner`), only of `kind` if given. With `when` (a stamp, and
        True for upcoming), the customer's bookings or tickets of `kind` that are not cancelled,
        by when they take place (index `by_schedule`): from that moment on, soonest first, or
        before it, latest first. `after` is the (index sort key, order id) of the last order of
        the previous page (or of the last order read, when a filtered page ran out of budget).
        """
        owner = keys.customer_pk(store_id, customer_id)
        values: Item = {":owner": _s(owner)}
        request: Item = {
            "TableName": self._table,
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": values,
        }
        if when is not None:
            assert kind is not None
            moment, upcoming = when
            sort = "schedule_sk"
            values[":low"] = _s(f"{kind}#{moment}" if upcoming else f"{kind}#")
            values[":high"] = _s(f"{kind}#~" if upcoming else f"{kind}#{moment}")
            request |= {
                "IndexName": BY_SCHEDULE,
                "KeyConditionExpression": "#owner = :owner AND schedule_sk BETWEEN :low AND :high",
                "ScanIndexForward": upcoming,
            }
        else:
            sort = "owner_sk"
            request |= {
                "IndexName": BY_OWNER,
                "KeyConditionExpression": "#owner = :owner",
                "ScanIndexForward": False,
            }
            if kind is not None:
                values[":kind"] = _s(kind)
                request["ExpressionAttributeNames"]["#kind"] = "kind"
                request["FilterExpression"] = (
                    "#kind = :kind"
                    if kind != "product"  # orders stored before kinds are products
                    else "#kind = :kind OR attribute_not_exists(#kind)"
                )
        skip = None if after is None else _go_on_after(request, after[0], when)
        found: list[tuple[str, Order]] = []
        read = 0
        while True:
            # One past the page, so the last page says so (more when a filter drops some).
            wanted = limit + 1 - len(found)
            if kind is not None and when is None:
                wanted = max(wanted, _FILTERED_READ)
            request["Limit"] = max(1, min(wanted, READ_BUDGET - read))
            answer = self._db.query(**request)
            read += int(answer.get("ScannedCount", 0))
            for raw in answer.get("Items", []):
                order = read_order(raw)
                if isinstance(order, Order) and raw[sort]["S"] != skip:
                    found.append((raw[sort]["S"], order))
            if len(found) > limit:
                last_key, last = found[limit - 1]
                return [o for _, o in found[:limit]], (last_key, last.order_id)
            following = answer.get("LastEvaluatedKey")
            if following is None:
                return [o for _, o in found], None
            request["ExclusiveStartKey"] = following  # the item's own keys: exact
            if read >= READ_BUDGET:
                order_id = following["sk"]["S"].removeprefix(keys.ORDER_PREFIX)
                return [o for _, o in found], (following[sort]["S"], order_id)

    def upcoming(self, store_id: str, customer_id: str, kind: str, now: str) -> list[Order]:
        """The customer's bookings (or tickets) not cancelled that take place from `now` on,
        soonest first (index `by_schedule`; a customer has few)."""
        orders: list[Order] = []
        after = None
        while True:
            page, after = self.orders_page(
                store_id, customer_id, limit=100, after=after, kind=kind, when=(now, True)
            )
            orders += page
            if after is None:
                return orders

    def facts_between(
        self, store_id: str, start: str, end: str, *, with_items: bool
    ) -> Iterator[OrderFact]:
        """Orders placed from `start` to `end` (stamps, inclusive), cancelled ones left out.

        One Query of `orders_by_date` per 1 MB page, reading back only each order's `report`.
        The projection trims what travels and what botocore parses, not what is billed: the
        index projects every attribute, and a query is billed on the items it reads.
        """
        lanes: list[Iterable[OrderFact]] = []
        unmoved: set[str] = set()
        if self._shards.migrating(store_id):
            # The first layout's orders are one more lane, read whole before the shards: an
            # order the job moves meanwhile is then read in one lane or both (kept once, by
            # id), never in neither.
            first = sorted(
                self._facts_of_first_layout(store_id, start, end, with_items=with_items),
                key=lambda fact: fact.placed_at,
            )
            unmoved = {fact.order_id for fact in first}
            lanes.append(first)
        lanes += [
            self._facts_of_shard(store_id, shard, start, end, with_items=with_items)
            for shard in range(self._shards.shards(store_id))
        ]
        # Each lane's orders come by date: merged, the store's are too.
        merged = heapq.merge(*lanes, key=lambda fact: fact.placed_at)
        if not unmoved:
            yield from merged
            return
        seen: set[str] = set()
        for fact in merged:
            if fact.order_id in unmoved:
                if fact.order_id in seen:
                    continue
                seen.add(fact.order_id)
            yield fact

    def _facts_of_first_layout(
        self, store_id: str, start: str, end: str, *, with_items: bool
    ) -> Iterator[OrderFact]:
        """The period's orders still in the first layout (`STORE#<s>`, `ORDER#...`): no index
        of today holds them, so every order left there is read (billed), the period filtered."""
        request: Item = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :order)",
            "FilterExpression": (
                "#entity = :entity AND #status <> :cancelled AND placed_at BETWEEN :start AND :end"
            ),
            "ProjectionExpression": "report",
            "ExpressionAttributeNames": {"#status": "status", "#entity": "entity"},
            "ExpressionAttributeValues": {
                ":pk": _s(keys.store_pk(store_id)),
                ":order": _s(keys.ORDER_PREFIX),
                ":entity": _s("order"),
                ":cancelled": _s("cancelled"),
                ":start": _s(start),
                ":end": _s(end),
            },
            # Eventually consistent, as the index lanes: the first layout only loses orders, so
            # a stale read shows one already moved (kept once, by id), never misses one.
        }
        for item in self._every(request):
            yield report_fact(item, with_lines=with_items)

    def _facts_of_shard(
        self, store_id: str, shard: int, start: str, end: str, *, with_items: bool
    ) -> Iterator[OrderFact]:
        request: Item = {
            "TableName": self._table,
            "IndexName": ORDERS_BY_DATE,
            "KeyConditionExpression": "orders_key = :pk AND placed_at BETWEEN :start AND :end",
            "FilterExpression": "#entity = :order AND #status <> :cancelled",
            "ProjectionExpression": "report",
            "ExpressionAttributeNames": {"#status": "status", "#entity": "entity"},
            "ExpressionAttributeValues": {
                ":pk": _s(keys.list_pk(store_id, shard)),
                ":start": _s(start),
                ":end": _s(end),
                ":order": _s("order"),
                ":cancelled": _s("cancelled"),
            },
        }
        for item in self._every(request):
            yield report_fact(item, with_lines=with_items)

    # Writes ----------------------------------------------------------------------------

    def place(
        self,
        store_id: str,
        order: Order,
        *,
        before: Pending | None,
        bounds: Bounds,
        seen: str | None = None,
    ) -> Bounds:
        """Stores a newly placed order (over its placeholder, if one waited) with its effects.

        `seen`: the moment to move the customer's `last_seen_at` to (a purchase is activity),
        set on condition that the stored one is older. Returns the customer's bounds after it.
        Raises StaleOrder if the order exists (or its placeholder changed), StaleCustomer if the
        customer changed or is gone (or was seen later meanwhile), Contended.
        """
        assert order.customer_id is not None
        put: Item = {
            "TableName": self._table,
            "Item": order_item(store_id, order, shards=self._shards.write_shards(store_id)),
        }
        if before is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put |= _same_pending(before)
        actions: list[Item] = [{"Put": put}]
        after = replace_seen(bounds, seen)
        if order.counted:
            after = Bounds(
                *bounds_with(bounds.first, bounds.last, keys.stamp(order.placed_at)),
                seen=after.seen,
            )
            # Guarded even when the dates stay: a cancellation recomputing them from the index
            # at the same moment could not see this order yet.
            actions.append(
                self._aggregates(
                    store_id,
                    order.customer_id,
                    order.contribution(),
                    bounds,
                    after,
                    guard=True,
                    seen=seen,
                    currency=order.currency,
                )
            )
        elif seen is not None:  # not counted (cancelled first), yet placing it was activity
            actions.append(
                self._aggregates(
                    store_id, order.customer_id, Delta(), bounds, bounds, guard=False, seen=seen
                )
            )
        entries = order_entries(order, before)
        actions += [self._timeline(store_id, order.customer_id, e) for e in entries]
        if before is None and self._shards.migrating(store_id):
            # Not recorded in the first layout either (its order moves on a read: `order`).
            actions.append(self._not_in_first_layout(store_id, keys.ORDER_PREFIX, order.order_id))
        self._transact(actions)
        return after

    def change(
        self,
        store_id: str,
        before: Order,
        after: Order,
        *,
        delta: Delta,
        bounds: tuple[Bounds, Bounds] | None,
    ) -> None:
        """Writes a cancellation or refund of a placed order, its delta and its timeline entries.

        `bounds` (read, new) when the customer exists: the dates are set, on condition that they
        are still as read, only when they change. Raises StaleOrder, StaleCustomer, Contended.
        """
        assert after.customer_id is not None
        put = {
            "TableName": self._table,
            "Item": order_item(store_id, after, shards=self._shards.write_shards(store_id)),
            "ConditionExpression": "#status = :status AND refunded_total = :refunded",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":status": _s(before.status),
                ":refunded": _n(before.refunded_total),
            },
        }
        actions: list[Item] = [{"Put": put}]
        if bounds is not None:
            read, new = bounds
            if delta or read != new:
                actions.append(
                    self._aggregates(store_id, after.customer_id, delta, read, new, guard=False)
                )
            entries = order_entries(after, before)
            actions += [self._timeline(store_id, after.customer_id, e) for e in entries]
        self._transact(actions)

    def keep_pending(
        self, store_id: str, order_id: str, before: Pending | None, after: Pending
    ) -> None:
        """Records a cancellation or refund of an order not placed yet. Raises StaleOrder."""
        put: Item = {"TableName": self._table, "Item": pending_item(store_id, order_id, after)}
        if before is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put |= _same_pending(before)
        self._transact([{"Put": put}])

    def add_review(self, store_id: str, review: Review, *, seen: str | None = None) -> None:
        """The review's marker, the customer's rating sums and a timeline entry, at once.

        `seen`: as for `place`. Raises StaleOrder if the review was recorded before,
        StaleCustomer if the customer is gone (or was seen later meanwhile), Contended.
        """
        assert review.customer_id is not None
        marker: Item = {
            **review_key(store_id, review.review_id),
            "entity": _s("review"),
            "review_id": _s(review.review_id),
            "customer_id": _s(review.customer_id),
            "product_id": _s(review.product_id),
            "rating": _n(review.rating),
            "at": _s(keys.stamp(review.at)),
        }
        if review.order_id:
            marker["order_id"] = _s(review.order_id)
        update: Item = {
            "TableName": self._table,
            "Key": customer_key(store_id, review.customer_id),
            "UpdateExpression": "ADD rating_count :one, rating_sum :rating",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":one": _n(1), ":rating": _n(review.rating)},
        }
        if seen is not None:
            update["UpdateExpression"] += f" SET {_SEEN_SET}"
            update["ConditionExpression"] += f" AND {_SEEN_CONDITION}"
            update["ExpressionAttributeValues"][":seen"] = _s(seen)
        actions: list[Item] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": marker,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Update": update},
            self._timeline(store_id, review.customer_id, review_entry(review)),
        ]
        if self._shards.migrating(store_id):
            # Not recorded in the first layout either: a review sent again counts once.
            actions.append(
                self._not_in_first_layout(store_id, keys.REVIEW_PREFIX, review.review_id)
            )
        self._transact(actions)

    def _aggregates(
        self,
        store_id: str,
        customer_id: str,
        delta: Delta,
        read: Bounds,
        new: Bounds,
        *,
        guard: bool,
        seen: str | None = None,
        currency: str | None = None,
    ) -> Item:
        """UpdateItem of the customer's aggregates: ADD the delta, SET / REMOVE the dates.

        The dates are conditioned on their values as read whenever they change (or `guard`);
        `seen` moves `last_seen_at` forward, on condition that it is still older.
        A placed order's `currency` becomes the aggregates' currency if they have none yet:
        DynamoDB keeps `total_spent` without trailing zeros, the currency gives back its scale.
        """
        values: Item = {}
        adds: list[str] = []
        sets: list[str] = []
        removes: list[str] = []
        conditions = ["attribute_exists(pk)"]
        _currency_and_seen(currency, seen, sets, conditions, values)
        if delta.orders:
            adds.append("orders_count :orders")
            values[":orders"] = _n(delta.orders)
        if delta.spent or delta.orders:  # so a first order of 0.00 still sets total_spent
            adds.append("total_spent :spent")
            values[":spent"] = _n(delta.spent)
        changed = new != read
        for name, was, now in (
            ("first_order_at", read.first, new.first),
            ("last_order_at", read.last, new.last),
        ):
            if changed or guard:
                if was is None:
                    conditions.append(f"attribute_not_exists({name})")
                else:
                    conditions.append(f"{name} = :{name}_read")
                    values[f":{name}_read"] = _s(was)
            if now is None and was is not None:
                removes.append(name)
            elif now is not None and now != was:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = _s(now)
        if changed and not guard:
            # Dates recomputed from the customer's orders: no order may have come or gone since.
            conditions.append("orders_count = :orders_read")
            values[":orders_read"] = _n(read.orders)
        if changed:
            # The index `by_last_order` sorts customers on it; "0" sorts before any date.
            sets.append("last_order_key = :last_order_key")
            values[":last_order_key"] = _s(new.last or "0")
        clauses = [
            f"ADD {', '.join(adds)}" if adds else "",
            f"SET {', '.join(sets)}" if sets else "",
            f"REMOVE {', '.join(removes)}" if removes else "",
        ]
        update: Item = {
            "TableName": self._table,
            "Key": customer_key(store_id, customer_id),
            "UpdateExpression": " ".join(c for c in clauses if c),
            "ConditionExpression": " AND ".join(conditions),
        }
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}

    def _not_in_first_layout(self, store_id: str, prefix: str, entity_id: str) -> Item:
        """An order's or a review marker's ConditionCheck: absent from the first layout."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": keys.first_layout_key(store_id, prefix + entity_id),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _timeline(self, store_id: str, customer_id: str, entry: Entry) -> Item:
        # No condition: a redelivered cause rewrites the same entry with the same content.
        return {
            "Put": {"TableName": self._table, "Item": timeline_item(store_id, customer_id, entry)}
        }

    def _transact(self, actions: list[Item]) -> None:
        """One write, or one transaction; a refused condition says which item was stale."""
        try:
            if len(actions) == 1:
                self._db.put_item(**actions[0]["Put"])
            else:
                self._db.transact_write_items(
                    TransactItems=actions,  # type: ignore[arg-type]
                    ClientRequestToken=_token(actions),
                )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                raise StaleOrder from None
            if code == "TransactionConflictException":
                raise Contended from None
            if code != "TransactionCanceledException":
                raise
            reasons = _reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise StaleOrder from None
            if "ConditionCheck" in actions[-1] and reasons[len(actions) - 1 :] == [
                "ConditionalCheckFailed"
            ]:
                raise StaleOrder from None  # in the first layout (_not_in_first_layout)
            if "ConditionalCheckFailed" in reasons[1:2]:
                raise StaleCustomer from None
            if "TransactionConflict" in reasons:
                raise Contended from None
            raise

    # Merges ---------------------------------------------------------------------------

    def owned(self, store_id: str, customer_id: str) -> Iterator[Order]:
        """Every order the customer owns (index `by_owner`), placed, cancelled or refunded.

        The index holds the first layout's orders too (their `owner` is today's); while the
        store is re-keyed, such an order is moved first, so a merge's or an erasure's rewrite
        of it (conditioned on the item at today's key) finds it there."""
        old_pk = keys.store_pk(store_id) if self._shards.migrating(store_id) else None
        request: Item = {
            "TableName": self._table,
            "IndexName": BY_OWNER,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": _s(keys.customer_pk(store_id, customer_id))},
        }
        for item in self._every(request):
            order = read_order(item)
            if isinstance(order, Order):
                if item["pk"]["S"] == old_pk:
                    self._shards.adopt_entity(store_id, dict(item))
                yield order

    def reassign(self, store_id: str, order: Order, to_customer: str) -> None:
        """The order as the other customer's (a merge), if it still is the customer's it was.

        Only the order moves: the merge moves the aggregates in its own transaction. The whole
        item is rewritten, so its `report` copy names the new customer too.
        """
        moved = dataclass_replace(order, customer_id=to_customer)
        try:
            self._db.put_item(
                TableName=self._table,
                Item=order_item(store_id, moved, shards=self._shards.write_shards(store_id)),
                # As read: a cancellation or refund landing meanwhile is never overwritten.
                ConditionExpression=(
                    "customer_id = :from AND #status = :status AND refunded_total = :refunded"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":from": _s(order.customer_id or ""),
                    ":status": _s(order.status),
                    ":refunded": _n(order.refunded_total),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # Moved already (a retried merge), or changed meanwhile: merging again moves it.


def _go_on_after(request: Item, after: str, when: tuple[str, bool] | None) -> str | None:
    """Narrows a customer's orders query to what comes after `after`, the previous page's last
    sort key; the key to leave out, if the range still holds it.

    By the sort key (unique: it ends with the order id), not by a start key: an order of the
    first layout, or moved since, has another table key than today's, and a start key naming
    the wrong one lands elsewhere in the index."""
    values = request["ExpressionAttributeValues"]
    if when is None:
        request["KeyConditionExpression"] += " AND owner_sk < :after"
        values[":after"] = _s(after)
        return None
    if when[1]:
        values[":low"] = _s(max(values[":low"]["S"], after))
    else:
        values[":high"] = _s(min(values[":high"]["S"], after))
    return after  # BETWEEN is inclusive


def _same_pending(before: Pending) -> Item:
    """Condition: the placeholder is still as read (refunds are only ever added)."""
    return {
        "ConditionExpression": (
            "attribute_exists(pk) AND attribute_not_exists(placed_at)"
            " AND #status = :status AND size(refunds) = :refunds"
        ),
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":status": _s(before.status),
            ":refunds": _n(len(before.refunds)),
        },
    }


def _currency_and_seen(
    currency: str | None, seen: str | None, sets: list[str], conditions: list[str], values: Item
) -> None:
    """The aggregates' currency (the first order's: it gives `total_spent` back its scale) and
    `last_seen_at` moved forward, on condition that it is still older."""
    if currency is not None:
        sets.append("currency = if_not_exists(currency, :currency)")
        values[":currency"] = _s(currency)
    if seen is not None:
        sets.append(_SEEN_SET)
        conditions.append(_SEEN_CONDITION)
        values[":seen"] = _s(seen)
