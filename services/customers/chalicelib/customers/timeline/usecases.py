"""What the customers service does with timelines: list them, and record what happens.

Entries come from three places: the table's stream (profile, tag and consent changes), the
store's activity feed (`POST /activity`: product views and cart changes) and events on the bus
(see `timeline_inbox`). Recording is idempotent (an entry's id comes from its cause) and never
creates anything for a customer that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.customers.keys import CUSTOMER_PREFIX, entity_store
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import normalise_email
from chalicelib.customers.profiles.store import plain
from chalicelib.customers.settings import settings
from chalicelib.customers.timeline.rules import (
    Kind,
    ProductActivity,
    Seen,
    TimelineEntry,
    activity_entry,
    entries_for_change,
    is_expired,
    latest_seen,
)
from chalicelib.customers.timeline.store import TimelineStore
from clientela import aws
from clientela.ids import is_id

logger = Logger(service="customers")


def timeline_store() -> TimelineStore:
    return TimelineStore(aws.dynamodb(), settings().table)


def list_timeline(
    store_id: str,
    customer_id: str,
    *,
    kinds: frozenset[Kind] | None,
    limit: int,
    after: str | None,
) -> tuple[list[TimelineEntry], str | None]:
    """A page of a customer's timeline, newest first, and where the next page starts.

    Raises CustomerNotFound: a deleted customer's history is not shown.
    """
    usecases.get_customer(store_id, customer_id)
    return timeline_store().page(store_id, customer_id, kinds=kinds, limit=limit, after=after)


def reserved_email(value: str) -> str | None:
    """An e-mail as its reservation item names it (normalised, lower case), or None if invalid."""
    try:
        return normalise_email(value)
    except ValueError:
        return None


def _owners_of_emails(store: TimelineStore, store_id: str, emails: list[str]) -> dict[str, str]:
    """The customer each e-mail is reserved by, in either layout while the store is re-keyed."""
    owners = store.owners_of_emails(store_id, emails)
    missing = set(emails) - set(owners)
    return owners | usecases.customer_store().first_layout_email_owners(store_id, missing)


def customer_named(store_id: str, customer_id: str | None, email: str | None) -> str | None:
    """The id of the customer an event names by id or by e-mail (the id wins); None if neither
    names a customer of this store. Existence is checked when the entry is written."""
    if customer_id is not None:
        return customer_id if is_id(customer_id) else None
    address = reserved_email(email) if email else None
    if address is None:
        return None
    return _owners_of_emails(timeline_store(), store_id, [address]).get(address)


def record_entries(
    store_id: str, customer_id: str, entries: Sequence[TimelineEntry], seen: Seen | None = None
) -> bool:
    """Writes the entries (and moves `last_seen_at` forward); False if there is no customer."""
    store = timeline_store()
    if not store.put(store_id, customer_id, entries):
        return False
    if seen is not None:
        # Refused when the customer was seen later: that is not an error, it stays as it is.
        store.touch_last_seen(store_id, customer_id, seen)
    return True


# The customers table stream


def _change_of(record: dict[str, Any]) -> tuple[str, str, list[TimelineEntry]] | None:
    """(store, customer, entries) for a record of a customer item; None for other items."""
    change = record.get("dynamodb") or {}
    keys = change.get("Keys") or {}
    pk = str(keys.get("pk", {}).get("S", ""))
    sk = str(keys.get("sk", {}).get("S", ""))
    store_id = entity_store(pk, sk)
    customer_id = sk.removeprefix(CUSTOMER_PREFIX)
    # Only customer items: tag members share the sort key shape, not the pk.
    if store_id is None or not sk.startswith(CUSTOMER_PREFIX):
        return None
    if not is_id(customer_id) or record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    if record.get("eventName") == "INSERT" and "migrated" in change.get("NewImage", {}):
        return None  # the re-keying job moved it: nothing happened to the customer
    new = plain(change["NewImage"]) if "NewImage" in change else None
    old = plain(change["OldImage"]) if "OldImage" in change else None
    if record.get("eventName") == "INSERT":
        old = None
    seconds = change.get("ApproximateCreationDateTime")
    at = datetime.fromtimestamp(float(seconds), UTC) if seconds is not None else None
    cause = f"stream/{record['eventID']}"
    return store_id, customer_id, entries_for_change(old, new, cause, at=at)


def _removed_customer(record: dict[str, Any]) -> tuple[str, str] | None:
    """(store, customer) when the record is the deletion of a customer item."""
    if record.get("eventName") != "REMOVE":
        return None
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    pk = str(keys.get("pk", {}).get("S", ""))
    sk = str(keys.get("sk", {}).get("S", ""))
    store_id, customer_id = entity_store(pk, sk), sk.removeprefix(CUSTOMER_PREFIX)
    if store_id is None or not sk.startswith(CUSTOMER_PREFIX):
        return None
    return (store_id, customer_id) if is_id(customer_id) else None


def record_history(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Profile, tag and consent changes from the table stream, in order.

    Stops at the first record that fails and reports it, so the batch resumes there; the
    records before it are done and a retry rewrites the same entries.
    """
    for record in records:
        try:
            removed = _removed_customer(record)
            if removed is not None:  # a deleted customer's history goes with it
                delete_timeline(*removed)
                continue
            change = _change_of(record)
            if change is not None and change[2]:
                store_id, customer_id, entries = change
                record_entries(store_id, customer_id, entries)
        except Exception as exc:
            logger.warning(
                "history not recorded",
                extra={"error_type": type(exc).__name__, "stream_event_id": record.get("eventID")},
            )
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    # The same records carry the shards' counters: a store that grew gets more shards.
    usecases.grow_stores(records)
    return {"batchItemFailures": []}


# Activity from the store (POST /activity)


class ActivityStatus(StrEnum):
    RECORDED = "recorded"
    UNKNOWN_CUSTOMER = "unknown_customer"
    EXPIRED = "expired"  # a product view older than views are kept: nothing to record


@dataclass(frozen=True)
class ActivityItem:
    event_id: str  # the store's own id for it: sending it again changes nothing
    activity: ProductActivity
    customer_id: str | None = None
    email: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class ActivityOutcome:
    event_id: str
    status: ActivityStatus
    customer_id: str | None = None
    entry_id: str | None = None


def activity_cause(item: ActivityItem) -> str:
    return f"activity/{item.activity.kind}/{item.event_id}"


def record_activity(
    store_id: str, items: Sequence[ActivityItem], *, now: datetime | None = None
) -> list[ActivityOutcome]:
    """Records a batch of product views and cart changes; one outcome per item, in order.

    Shoppers are named by id or e-mail; those who are not customers of the store are reported
    (`unknown_customer`) and no profile is created for them. Each customer's `last_seen_at`
    moves to their newest item, never back; `last_device` and `last_ip` to the newest item
    that carries one (also across batches: an older batch never overwrites a newer value).
    """
    now = now or datetime.now(UTC)
    store = timeline_store()
    emails = {
        item.email: reserved_email(item.email)
        for item in items
        if item.customer_id is None and item.email is not None
    }
    owners = _owners_of_emails(store, store_id, [e for e in emails.values() if e])
    outcomes: list[ActivityOutcome] = []
    by_customer: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        customer_id = item.customer_id
        if customer_id is None and item.email is not None:
            customer_id = owners.get(emails[item.email] or "")
        if customer_id is None or not is_id(customer_id):
            outcomes.append(ActivityOutcome(item.event_id, ActivityStatus.UNKNOWN_CUSTOMER))
            continue
        if is_expired(item.activity.kind, item.activity.at, now):
            outcomes.append(ActivityOutcome(item.event_id, ActivityStatus.EXPIRED, customer_id))
            continue
        entry = activity_entry(activity_cause(item), item.activity)
        outcomes.append(
            ActivityOutcome(item.event_id, ActivityStatus.RECORDED, customer_id, entry.entry_id)
        )
        by_customer[customer_id].append(index)
    for customer_id, indexes in by_customer.items():
        mine = [items[i] for i in indexes]
        entries = [activity_entry(activity_cause(item), item.activity) for item in mine]
        seen = latest_seen(Seen(item.activity.at, item.activity.device, item.ip) for item in mine)
        if not record_entries(store_id, customer_id, entries, seen):
            for i in indexes:
                outcomes[i] = ActivityOutcome(items[i].event_id, ActivityStatus.UNKNOWN_CUSTOMER)
    return outcomes


# Whole timelines


def delete_timeline(store_id: str, customer_id: str) -> int:
    """Deletes a customer's whole history (after the customer is deleted)."""
    return timeline_store().delete_all(store_id, customer_id)


def count_entries(store_id: str, customer_id: str) -> int:
    """How many entries a customer's history holds (a merge preview shows it)."""
    return timeline_store().count(store_id, customer_id)


def move_timeline(store_id: str, from_id: str, to_id: str) -> int:
    """Moves one customer's history to another (a merge keeps the survivor's)."""
    return timeline_store().move_entries(store_id, from_id, to_id)
