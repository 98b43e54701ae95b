"""Coupons follow order events: a cancelled order's coupons are given back. Reverting is
idempotent, so a redelivered event changes nothing. (The queue's batch handling is
chalicelib.credits.inbox, shared with referrals.)"""

from __future__ import annotations

from chalicelib.credits.coupons import usecases
from clientela.events import IncomingEvent
from clientela_events.storefront import OrderCancelledV1

FOLLOWED_EVENTS = ("order.cancelled",)


def follow(event: IncomingEvent) -> str:
    if isinstance(event.data, OrderCancelledV1):
        reverted = usecases.revert_order(event.metadata.store_id, event.data.order_id)
        return f"reverted {reverted}"
    return "ignored"
