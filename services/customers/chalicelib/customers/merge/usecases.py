"""Merging duplicate customers into one, with a preview.

The order of the steps makes a retry after any crash safe: orders and timeline entries move
first (each move is idempotent), then one transaction updates the kept profile, deletes the
others and writes the merge record that becomes the customer.merged event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from chalicelib.customers import keys
from chalicelib.customers.errors import CustomerNotFound, InvalidField
from chalicelib.customers.merge import rules as merge_rules
from chalicelib.customers.orders import usecases as order_usecases
from chalicelib.customers.photos import store as photo_store
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import photo_map
from chalicelib.customers.timeline import usecases as timeline_usecases
from clientela.ids import new_id
from clientela.problems import UnknownReference

MAX_MERGED = 10


@dataclass(frozen=True)
class MergeResult:
    outcome: merge_rules.MergeOutcome
    orders: int
    timeline_entries: int
    merge_id: str | None  # None for a preview


def _read(store_id: str, keep_id: str, merge_ids: list[str]) -> tuple[Customer, list[Customer]]:
    if keep_id in merge_ids:
        raise InvalidField("merge_ids", "must not name the kept customer")
    if len(set(merge_ids)) != len(merge_ids):
        raise InvalidField("merge_ids", "must not repeat an id")
    found: list[Customer] = []
    unknown: list[str] = []
    for field, customer_id in [
        ("keep_id", keep_id),
        *((f"merge_ids.{index}", other) for index, other in enumerate(merge_ids)),
    ]:
        try:
            found.append(usecases.get_customer(store_id, customer_id))
        except CustomerNotFound:
            unknown.append(field)
    if unknown:  # every id the store lacks, named at once
        raise UnknownReference("customer", *unknown)
    return found[0], found[1:]


def _moved_aggregates(others: list[Customer]) -> dict[str, Decimal]:
    """What the merged profiles' orders and reviews add to the kept one's counters."""
    return {
        "orders_count": Decimal(sum(o.orders_count for o in others)),
        "total_spent": sum((o.total_spent for o in others), Decimal(0)),
        "rating_count": Decimal(sum(o.rating_count for o in others)),
        "rating_sum": sum((o.rating_sum for o in others), Decimal(0)),
    }


def _order_dates(customers: list[Customer]) -> dict[str, str]:
    """First and last order dates over all the profiles (with the index key of the last)."""
    firsts = [c.first_order_at for c in customers if c.first_order_at]
    lasts = [c.last_order_at for c in customers if c.last_order_at]
    if not firsts or not lasts:
        return {}
    last = keys.stamp(max(lasts))
    return {
        "first_order_at": keys.stamp(min(firsts)),
        "last_order_at": last,
        "last_order_key": last,
    }


def _currency(kept: Customer, others: list[Customer]) -> dict[str, str]:
    """The aggregates' currency, taken from a merged profile when the kept one has none."""
    if kept.currency is not None:
        return {}
    found = next((o.currency for o in others if o.currency is not None), None)
    return {} if found is None else {"currency": found}


def merge_customers(
    store_id: str,
    keep_id: str,
    merge_ids: list[str],
    *,
    dry_run: bool,
    correlation_id: str | None = None,
) -> MergeResult:
    """Folds `merge_ids` into `keep_id`, or only says what that would do (`dry_run`)."""
    kept, others = _read(store_id, keep_id, merge_ids)
    outcome = merge_rules.merge_profiles(kept, others)
    orders_store = order_usecases.order_store()
    if dry_run:
        return MergeResult(
            outcome,
            orders=sum(len(list(orders_store.owned(store_id, o.id))) for o in others),
            timeline_entries=sum(timeline_usecases.count_entries(store_id, o.id) for o in others),
            merge_id=None,
        )
    orders = 0
    for other in others:
        for order in orders_store.owned(store_id, other.id):
            orders_store.reassign(store_id, order, kept.id)
            orders += 1
    entries = sum(timeline_usecases.move_timeline(store_id, o.id, kept.id) for o in others)
    current = usecases.get_customer(store_id, kept.id)
    outcome = merge_rules.merge_profiles(current, others)
    merge_id = new_id()
    record = {
        "pk": keys.entity_pk(store_id, keys.MERGE_PREFIX + merge_id),
        "sk": keys.MERGE_PREFIX + merge_id,
        "entity": "merge",
        "merge_id": merge_id,
        "kept_id": kept.id,
        "merged_ids": [o.id for o in outcome.merged],
        "merged_at": keys.stamp(outcome.kept.updated_at),
    }
    if correlation_id:
        record["correlation_id"] = correlation_id
    sets: dict[str, Any] = {**_order_dates([current, *others])}
    taken = outcome.kept.photo if current.photo is None else None
    if taken is not None:
        # A merged profile's photo moves under the kept customer's own keys, so removing the
        # merged profiles' photos below (and the kept one's, when it is deleted) finds it.
        key = photo_store.photo_key(store_id, kept.id, taken.id)
        photo_store.photo_bucket().copy(taken.key, key)
        sets["photo"] = photo_map(replace(taken, key=key))
    usecases.customer_store().merge(
        current,
        outcome.kept,
        list(outcome.merged),
        record,
        add=_moved_aggregates(others),
        sets=sets | _currency(current, others),
        correlation_id=correlation_id,
    )
    photo_store.discard(*(o.photo.key for o in others if o.photo is not None))
    merged = usecases.get_customer(store_id, kept.id)
    return MergeResult(
        merge_rules.MergeOutcome(
            merged,
            outcome.merged,
            outcome.tags_added,
            outcome.attributes_added,
            outcome.fields_filled,
        ),
        orders=orders,
        timeline_entries=entries,
        merge_id=merge_id,
    )
