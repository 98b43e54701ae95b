"""Customer events, published from the table's stream.

Every committed write to a customer item reaches the stream, and only committed writes do, so
the events cannot drift from the data: no dual write, no outbox to sweep. The stream record's id
gives each event a stable id, so a retried batch republishes the same ids and consumers drop the
duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.customers.keys import MERGE_PREFIX, ORDER_PREFIX, entity_store
from chalicelib.customers.orders.rules import Order
from chalicelib.customers.orders.store import read_order
from chalicelib.customers.profiles.rules import EVENT_FIELDS, PROFILE_FIELDS, Consent, Customer
from chalicelib.customers.profiles.store import CUSTOMER_PREFIX, from_item, plain
from clientela.events import OutgoingEvent, publish
from clientela_events import customers as customers_events
from clientela_events.customers import (
    ConsentV1,
    CustomerCreatedV1,
    CustomerDeletedV1,
    CustomerMergedV1,
    CustomerUpdatedV1,
    CustomerV1,
)
from clientela_events.storefront import (
    BookingV1,
    LineItemV1,
    OrderCancelledV1,
    OrderPlacedV1,
    OrderRefundedV1,
    TicketV1,
)

# What events carry of a profile (notes, social accounts, counters and the photo stay in the
# service).
_SNAPSHOT_FIELDS = tuple(
    name for name in PROFILE_FIELDS if name not in ("notes", "social", "engagement", "photo_url")
)


def _consent(consent: Consent) -> ConsentV1:
    return ConsentV1(
        state=consent.state,
        opt_in_level=consent.opt_in_level,
        updated_at=consent.updated_at,
        source=consent.source,
    )


def _changed(old: Customer, new: Customer) -> list[str]:
    """Names of the profile and consent fields that differ (notes and attributes included)."""
    return sorted(name for name in EVENT_FIELDS if getattr(old, name) != getattr(new, name))


# Fixed namespace: the same stream record always yields the same event id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8")


def _snapshot(customer: Customer) -> CustomerV1:
    return CustomerV1(
        id=customer.id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        version=customer.version,
        email_consent=_consent(customer.email_consent),
        sms_consent=_consent(customer.sms_consent),
        **{name: getattr(customer, name) for name in _SNAPSHOT_FIELDS},
    )


def _merged(record: dict[str, Any], common: dict[str, Any]) -> OutgoingEvent | None:
    """A merge record's insertion: customer.merged."""
    new = record["dynamodb"].get("NewImage")
    if record["eventName"] != "INSERT" or not new:
        return None
    data = plain(new)
    merged_at = datetime.fromisoformat(data["merged_at"])
    return OutgoingEvent(
        event_type="customer.merged",
        occurred_at=merged_at,
        data=CustomerMergedV1(
            merge_id=data["merge_id"],
            kept_id=data["kept_id"],
            merged_ids=list(data["merged_ids"]),
            merged_at=merged_at,
        ),
        **common,
    )


def moved_by_migration(record: dict[str, Any]) -> bool:
    """An item the re-keying job wrote under its new key: nothing happened to it."""
    change = record.get("dynamodb") or {}
    return record.get("eventName") == "INSERT" and "migrated" in (change.get("NewImage") or {})


def event_for(record: dict[str, Any]) -> OutgoingEvent | None:
    """The domain event a stream record stands for; None for items that are not customers,
    merge records or orders changed through the API (search entries, tags, timelines)."""
    change = record["dynamodb"]
    pk, sk = change["Keys"]["pk"]["S"], change["Keys"]["sk"]["S"]
    store_id = entity_store(pk, sk)
    if store_id is None:  # only entities (customers, orders, merges), not list entries
        return None
    if moved_by_migration(record):
        return None
    common = {
        "event_id": uuid.uuid5(EVENT_ID_NAMESPACE, record["eventID"]),
        "store_id": store_id,
        "version": 1,
        "correlation_id": (change.get("NewImage") or {}).get("correlation_id", {}).get("S"),
    }
    if sk.startswith(MERGE_PREFIX):
        return _merged(record, common)
    if sk.startswith(CUSTOMER_PREFIX):
        return _customer_event(record, common)
    if sk.startswith(ORDER_PREFIX):
        return _order_event(record, common)
    return None


def _order_event(record: dict[str, Any], common: dict[str, Any]) -> OutgoingEvent | None:
    """An order, a cancellation or a refund recorded through the HTTP API: order.placed /
    order.cancelled / order.refunded, so other services (credits' referrals and cashback) hear
    of it as they would from the store platform.

    Those heard from the store platform's events are on the bus already and are not published
    again; nor is anything else that rewrites an order (a merge moving it). One API request
    changes one thing, so one record stands for at most one event.
    """
    change = record["dynamodb"]
    new, old = change.get("NewImage"), change.get("OldImage") or {}
    if record["eventName"] == "REMOVE" or not new or "placed_at" not in new:
        return None
    after, before = read_order(new), read_order(old) if old else None
    assert isinstance(after, Order)
    common = {**common, "source": customers_events.SOURCE}
    if after.placed_via_api and not isinstance(before, Order):  # new, or over a placeholder
        return OutgoingEvent(
            event_type="order.placed",
            occurred_at=after.placed_at,
            data=placed_event(after),
            **common,
        )
    was_cancelled = isinstance(before, Order) and before.cancelled_at is not None
    if after.cancelled_via_api and after.cancelled_at is not None and not was_cancelled:
        return OutgoingEvent(
            event_type="order.cancelled",
            occurred_at=after.cancelled_at,
            data=OrderCancelledV1(
                order_id=after.order_id, cancelled_at=after.cancelled_at, reason=after.cancel_reason
            ),
            **common,
        )
    known = {r.refund_id for r in before.refunds} if isinstance(before, Order) else set()
    for refund in after.refunds:
        if refund.via_api and refund.refund_id not in known:
            return OutgoingEvent(
                event_type="order.refunded",
                occurred_at=refund.at,
                data=OrderRefundedV1(
                    order_id=after.order_id,
                    refund_id=refund.refund_id,
                    amount=refund.amount,
                    reason=refund.reason,
                    refunded_at=refund.at,
                ),
                **common,
            )
    return None


def _customer_event(record: dict[str, Any], common: dict[str, Any]) -> OutgoingEvent | None:
    change = record["dynamodb"]
    new, old = change.get("NewImage"), change.get("OldImage")
    name = record["eventName"]
    if name == "INSERT" and new:
        snapshot = _snapshot(from_item(new))
        return OutgoingEvent(
            event_type="customer.created",
            occurred_at=snapshot.updated_at,
            data=CustomerCreatedV1(customer=snapshot),
            **common,
        )
    if name == "MODIFY" and new and old:
        previous, current = from_item(old), from_item(new)
        if previous.version == current.version:
            return None  # orders, reviews or activity: aggregates, not a profile change
        before, after = _snapshot(previous), _snapshot(current)
        return OutgoingEvent(
            event_type="customer.updated",
            occurred_at=after.updated_at,
            data=CustomerUpdatedV1(old=before, new=after, changed=_changed(previous, current)),
            **common,
        )
    if name == "REMOVE" and old:
        before = _snapshot(from_item(old))
        # The stream's clock has whole seconds: never report a deletion before the last change.
        stream_time = float(change.get("ApproximateCreationDateTime", 0))
        deleted_at = max(datetime.fromtimestamp(stream_time, UTC), before.updated_at)
        return OutgoingEvent(
            event_type="customer.deleted",
            occurred_at=deleted_at,
            data=CustomerDeletedV1(
                customer_id=before.id, version=before.version, deleted_at=deleted_at
            ),
            **common,
        )
    return None


def publish_changes(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Publishes a stream batch in order; reports the first failure so the rest is retried."""
    pending = [(record, event_for(record)) for record in records]
    outgoing = [(record, event) for record, event in pending if event is not None]
    failed = publish([event for _, event in outgoing])
    if not failed:
        return {"batchItemFailures": []}
    first = outgoing[min(failed)][0]
    return {"batchItemFailures": [{"itemIdentifier": first["dynamodb"]["SequenceNumber"]}]}


def placed_event(order: Order) -> OrderPlacedV1:
    """What `order.placed` says of an order (the contract the store platform publishes too)."""
    return OrderPlacedV1(
        order_id=order.order_id,
        customer_id=order.customer_id,
        email=order.email,
        placed_at=order.placed_at,
        currency=order.currency,
        total=order.total,
        items=[
            LineItemV1(
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
        booking=None
        if order.booking is None
        else BookingV1(
            service_id=order.booking.service_id,
            service_name=order.booking.service_name,
            starts_at=order.booking.starts_at,
            ends_at=order.booking.ends_at,
        ),
        ticket=None
        if order.ticket is None
        else TicketV1(
            event_id=order.ticket.event_id,
            event_name=order.ticket.event_name,
            event_at=order.ticket.event_at,
        ),
    )
