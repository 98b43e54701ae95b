"""Customer and order events, as the contacts read model follows them."""

from __future__ import annotations

from chalicelib.automation.contacts import usecases
from clientela.events import IncomingEvent
from clientela_events.customers import (
    CustomerCreatedV1,
    CustomerDeletedV1,
    CustomerMergedV1,
    CustomerUpdatedV1,
)
from clientela_events.storefront import OrderPlacedV1

# What infra/automation.yaml's ContactEventsRule takes.
FOLLOWED_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.merged",
    "order.placed",
)

# The version a merged-away contact's tombstone holds: no event of the profile is newer.
MERGED = 2**62


def follow(event: IncomingEvent) -> str:
    """Applies one event; answers what it did (for the log, never personal data)."""
    store_id = event.metadata.store_id
    data = event.data
    at = event.metadata.occurred_at
    if isinstance(data, CustomerCreatedV1):
        changed = usecases.keep_profile(store_id, data.customer, at=at)
    elif isinstance(data, CustomerUpdatedV1) and data.new.version == data.old.version:
        changed = usecases.keep_totals(store_id, data.new, at=at)  # orders or reviews
    elif isinstance(data, CustomerUpdatedV1):
        changed = usecases.keep_profile(store_id, data.new, at=at)
    elif isinstance(data, CustomerDeletedV1):
        changed = usecases.forget(store_id, data.customer_id, data.version)
    elif isinstance(data, CustomerMergedV1):
        # The merged ids never come back: a tombstone above any version stops every late event.
        changed = any(usecases.forget(store_id, merged, MERGED) for merged in data.merged_ids)
    elif isinstance(data, OrderPlacedV1):
        if data.customer_id is None:
            return "guest-order"
        changed = usecases.note_order(store_id, data.customer_id, data.placed_at)
    else:
        return "ignored"
    return "applied" if changed else "stale"
