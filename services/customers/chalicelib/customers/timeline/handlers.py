"""Timeline entries from events on the bus: shopping (store platform), e-mails and messages
(automation), wallet movements (credits).

Each entry's id comes from the event id, so a redelivered event rewrites its entry. An event
about a shopper who is not a customer of the store is dropped: no history without a profile.
Imported by the inbox (`inbox.AREAS`) for its side effect: registering the handlers in
`inbox.HANDLERS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from chalicelib.customers.inbox import follows
from chalicelib.customers.timeline.rules import (
    Kind,
    ProductActivity,
    Seen,
    TimelineEntry,
    activity_entry,
    cart_kind,
    compact,
    is_expired,
    link_without_query,
    new_entry,
)
from chalicelib.customers.timeline.usecases import customer_named, record_entries
from clientela.events import IncomingEvent
from clientela_events.automation import (
    EmailClickedV1,
    EmailOpenedV1,
    EmailSentV1,
    MessageRepliedV1,
    MessageSentV1,
)
from clientela_events.credits import (
    CreditAdjustedV1,
    CreditExpiredV1,
    CreditGrantedV1,
    CreditRevertedV1,
    CreditSpentV1,
)
from clientela_events.storefront import CartUpdatedV1, ProductViewedV1

logger = Logger(service="customers")
Data = TypeVar("Data", bound=BaseModel)


def _data(event: IncomingEvent, model: type[Data]) -> Data:
    if not isinstance(event.data, model):
        raise TypeError(f"{event.event_type} does not carry {model.__name__}")
    return event.data


def _cause(event: IncomingEvent) -> str:
    return f"event/{event.metadata.event_id}"


def _record(
    event: IncomingEvent,
    entry: TimelineEntry,
    *,
    customer_id: str | None,
    email: str | None = None,
    seen: Seen | None = None,
) -> None:
    store_id = event.metadata.store_id
    owner = customer_named(store_id, customer_id, email)
    recorded = owner is not None and record_entries(store_id, owner, [entry], seen)
    if not recorded:  # ids only: never the e-mail
        logger.info(
            "timeline entry skipped: no such customer",
            extra={"event_type": event.event_type, "event_id": str(event.metadata.event_id)},
        )


# Store platform


def _shopping(event: IncomingEvent, data: ProductViewedV1 | CartUpdatedV1, kind: Kind) -> None:
    if is_expired(kind, data.at, datetime.now(UTC)):
        return  # a view older than views are kept: nothing to show
    activity = ProductActivity(
        kind=kind,
        at=data.at,
        product_id=data.product_id,
        sku=data.sku,
        name=data.name,
        brand=data.brand,
        category=data.category,
        price=data.price,
        currency=data.currency,
        quantity=data.quantity if isinstance(data, CartUpdatedV1) else None,
        device=data.device,
    )
    entry = activity_entry(_cause(event), activity)
    seen = Seen(data.at, data.device)
    _record(event, entry, customer_id=data.customer_id, email=data.email, seen=seen)


@follows("product.viewed")
def on_product_viewed(event: IncomingEvent) -> None:
    _shopping(event, _data(event, ProductViewedV1), Kind.PRODUCT_VIEWED)


@follows("cart.updated")
def on_cart_updated(event: IncomingEvent) -> None:
    data = _data(event, CartUpdatedV1)
    _shopping(event, data, cart_kind(data.quantity))


# Automation: what was sent and done, never a subject or a message's text


def _simple(event: IncomingEvent, kind: Kind, customer_id: str, data: dict[str, Any]) -> None:
    entry = new_entry(_cause(event), kind, event.metadata.occurred_at, data)
    _record(event, entry, customer_id=customer_id)


@follows("email.sent")
def on_email_sent(event: IncomingEvent) -> None:
    data = _data(event, EmailSentV1)
    fields = compact(
        message_id=data.message_id,
        flow_id=data.flow_id,
        flow_name=data.flow_name,
        campaign_id=data.campaign_id,
        campaign_name=data.campaign_name,
    )
    _simple(event, Kind.EMAIL_SENT, data.customer_id, fields)


@follows("email.opened")
def on_email_opened(event: IncomingEvent) -> None:
    data = _data(event, EmailOpenedV1)
    fields = compact(message_id=data.message_id, flow_id=data.flow_id, campaign_id=data.campaign_id)
    _simple(event, Kind.EMAIL_OPENED, data.customer_id, fields)


@follows("email.clicked")
def on_email_clicked(event: IncomingEvent) -> None:
    data = _data(event, EmailClickedV1)
    fields = compact(
        message_id=data.message_id,
        url=link_without_query(str(data.url)),
        flow_id=data.flow_id,
        campaign_id=data.campaign_id,
    )
    _simple(event, Kind.EMAIL_CLICKED, data.customer_id, fields)


@follows("message.sent")
def on_message_sent(event: IncomingEvent) -> None:
    data = _data(event, MessageSentV1)
    fields = {"thread_id": data.thread_id, "message_id": data.message_id, "channel": data.channel}
    _simple(event, Kind.MESSAGE_SENT, data.customer_id, fields)


@follows("message.replied")
def on_message_replied(event: IncomingEvent) -> None:
    data = _data(event, MessageRepliedV1)
    fields = {"thread_id": data.thread_id, "message_id": data.message_id, "channel": data.channel}
    _simple(event, Kind.MESSAGE_REPLIED, data.customer_id, fields)


# Credits


@follows("credit.granted")
def on_credit_granted(event: IncomingEvent) -> None:
    data = _data(event, CreditGrantedV1)
    fields = compact(
        credit_entry_id=data.entry_id,
        credit_kind=data.kind,
        amount=data.amount,
        currency=data.currency,
        expires_at=data.expires_at,
        balance_after=data.balance_after,
    )
    _simple(event, Kind.CREDIT_GRANTED, data.customer_id, fields)


@follows("credit.spent")
def on_credit_spent(event: IncomingEvent) -> None:
    data = _data(event, CreditSpentV1)
    fields = compact(
        credit_entry_id=data.entry_id,
        amount=data.amount,
        currency=data.currency,
        order_id=data.order_id,
        balance_after=data.balance_after,
    )
    _simple(event, Kind.CREDIT_SPENT, data.customer_id, fields)


@follows("credit.expired")
def on_credit_expired(event: IncomingEvent) -> None:
    data = _data(event, CreditExpiredV1)
    fields = {
        "credit_entry_id": data.entry_id,
        "amount": data.amount,
        "currency": data.currency,
        "balance_after": data.balance_after,
    }
    _simple(event, Kind.CREDIT_EXPIRED, data.customer_id, fields)


@follows("credit.reverted")
def on_credit_reverted(event: IncomingEvent) -> None:
    """Credit put back on the lots a debit took from (an order cancelled or refunded)."""
    data = _data(event, CreditRevertedV1)
    fields = compact(
        credit_entry_id=data.entry_id,
        debit_id=data.debit_id,
        amount=data.amount,
        currency=data.currency,
        order_id=data.order_id,
        reexpired=data.reexpired or None,
        balance_after=data.balance_after,
    )
    _simple(event, Kind.CREDIT_REVERTED, data.customer_id, fields)


@follows("credit.adjusted")
def on_credit_adjusted(event: IncomingEvent) -> None:
    """A correction: an admin's adjustment, a lot moved out by a merge, a cashback clawed back."""
    data = _data(event, CreditAdjustedV1)
    fields = compact(
        credit_entry_id=data.entry_id,
        reason=data.reason,
        direction=data.direction,
        amount=data.amount,
        currency=data.currency,
        credit_kind=data.kind,
        note=data.note,
        balance_after=data.balance_after,
    )
    _simple(event, Kind.CREDIT_ADJUSTED, data.customer_id, fields)
