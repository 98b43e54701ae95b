"""Flow stats: counted as runs go (entered, sent, skipped by reason), from the mail's events
(opened, clicked) and from orders (converted, revenue: last touch within 5 days)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from decimal import Decimal

from chalicelib.automation.settings import settings
from chalicelib.automation.stats.store import Counts, StatsStore, Touch
from clientela import aws

# An order placed within this long of a click or open of a flow's message is that message's.
ATTRIBUTION_WINDOW = timedelta(days=5)


@functools.cache
def store() -> StatsStore:
    return StatsStore(aws.dynamodb(), settings().flows_table)


def entered(store_id: str, flow_id: str) -> None:
    store().add(store_id, flow_id, None, "entered")


def ended(store_id: str, flow_id: str, reason: str) -> None:
    """A run ended before its steps did, for `reason` (counted once per run by the caller)."""
    store().add(store_id, flow_id, None, f"ended#{reason}")


def sent(store_id: str, flow_id: str, step_id: str, message_id: str) -> None:
    store().remember_message(store_id, message_id, flow_id, step_id)
    store().add(store_id, flow_id, step_id, "sent")


def skipped(store_id: str, flow_id: str, step_id: str, reason: str) -> None:
    store().add(store_id, flow_id, step_id, f"skipped#{reason}")


def engaged(store_id: str, customer_id: str, message_id: str, what: str, at: datetime) -> bool:
    """An open or click of a message: counted once per message, and the customer's last touch
    (for attribution). False for a message no flow sent."""
    origin = store().message_origin(store_id, message_id)
    if origin is None:
        return False
    flow_id, step_id = origin
    store().touch(store_id, customer_id, Touch(flow_id, step_id, message_id, at))
    if store().first(store_id, message_id, what) is not None:
        store().add(store_id, flow_id, step_id, what)
    return True


def ordered(
    store_id: str,
    customer_id: str,
    *,
    order_id: str,
    placed_at: datetime,
    total: Decimal,
    currency: str,
) -> str | None:
    """Attributes the order to the flow message the customer last opened or clicked within
    5 days before it (last touch), once per order. Returns the flow id, if any."""
    touch = store().last_touch(store_id, customer_id)
    if touch is None or not timedelta() <= placed_at - touch.at <= ATTRIBUTION_WINDOW:
        return None
    if not store().attribute_order(store_id, order_id, touch):
        return touch.flow_id
    store().add(store_id, touch.flow_id, touch.step_id, "converted")
    store().add(store_id, touch.flow_id, touch.step_id, f"revenue#{currency}", total)
    return touch.flow_id


def counts(store_id: str, flow_id: str) -> dict[str | None, Counts]:
    return store().counts(store_id, flow_id)
