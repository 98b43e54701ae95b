"""Profile changes other services ask for through events (from the bus, through the inbox)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.customers.errors import CustomerNotFound
from chalicelib.customers.inbox import follows
from chalicelib.customers.profiles.rules import Consent
from chalicelib.customers.profiles.usecases import get_customer, set_consent
from clientela.events import IncomingEvent
from clientela_events.automation import EmailUnsubscribedV1

logger = Logger(service="customers")

UNSUBSCRIBE_SOURCE = "unsubscribe_link"


@follows("email.unsubscribed")
def on_email_unsubscribed(event: IncomingEvent) -> None:
    """The customer used an e-mail's unsubscribe link: e-mail consent becomes `unsubscribed`.

    A consent recorded after the click (the customer subscribed again) is newer and stays: a
    late or redelivered event never undoes it. Repeating it writes nothing (set_consent)."""
    data = event.data
    assert isinstance(data, EmailUnsubscribedV1)
    store_id = event.metadata.store_id
    try:
        current = get_customer(store_id, data.customer_id).consent("email")
    except CustomerNotFound:
        logger.info(
            "unsubscribe for a customer that is gone",
            extra={"event_id": str(event.metadata.event_id)},
        )
        return
    if current.state == "unsubscribed":
        return  # already: its record (and source) stays as it was
    if current.updated_at is not None and current.updated_at > data.at:
        return
    set_consent(
        store_id,
        data.customer_id,
        "email",
        Consent(state="unsubscribed", source=UNSUBSCRIBE_SOURCE),
        correlation_id=str(event.metadata.event_id),
    )
