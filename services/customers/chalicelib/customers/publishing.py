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

from chalicelib.customers.domain import EVENT_FIELDS, Consent, Customer
from chalicelib.customers.store import CUSTOMER_PREFIX, from_item
from clientela.events import OutgoingEvent, publish
from clientela_events.customers import (
    ConsentV1,
    CustomerCreatedV1,
    CustomerDeletedV1,
    CustomerUpdatedV1,
    CustomerV1,
)

# What events carry of a profile (notes, custom attributes and counters stay in the service).
_SNAPSHOT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "gender",
    "birthday",
    "language",
    "tags",
    "favorite",
)


def _consent(consent: Consent) -> ConsentV1:
    return ConsentV1(
        state=consent.state,  # type: ignore[arg-type]
        opt_in_level=consent.opt_in_level,  # type: ignore[arg-type]
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


def event_for(record: dict[str, Any]) -> OutgoingEvent | None:
    """The domain event a stream record stands for, or None for items that are not customers."""
    change = record["dynamodb"]
    keys = change["Keys"]
    if not keys["sk"]["S"].startswith(CUSTOMER_PREFIX):
        return None
    store_id = keys["pk"]["S"].removeprefix("STORE#")
    event_id = uuid.uuid5(EVENT_ID_NAMESPACE, record["eventID"])
    new, old = change.get("NewImage"), change.get("OldImage")
    correlation = (new or {}).get("correlation_id", {}).get("S")
    common = {
        "event_id": event_id,
        "store_id": store_id,
        "version": 1,
        "correlation_id": correlation,
    }
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
