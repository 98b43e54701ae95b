"""Profile changes other services ask for through events (from the bus, through the inbox)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.customers.errors import CustomerNotFound, InvalidField
from chalicelib.customers.inbox import follows
from chalicelib.customers.profiles.rules import Consent
from chalicelib.customers.profiles.usecases import change_tags, get_customer, set_consent
from clientela.events import IncomingEvent
from clientela_events.automation import EmailUnsubscribedV1
from clientela_events.flows import FlowTagsRequestedV1

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


@follows("flow.tags_requested")
def on_flow_tags_requested(event: IncomingEvent) -> None:
    """An automation flow's add / remove tag step: the tags change on the customer as it is now.

    Tags already so write nothing, so a redelivered request is a no-op; a customer deleted since
    is left alone; a request the customer's tags cannot take (over the limit) is dropped with the
    reason logged, since retrying it cannot succeed."""
    data = event.data
    assert isinstance(data, FlowTagsRequestedV1)
    ids = {"event_id": str(event.metadata.event_id), "flow_id": data.flow_id}
    try:
        change_tags(
            event.metadata.store_id,
            data.customer_id,
            add=data.add,
            remove=data.remove,
            correlation_id=str(event.metadata.event_id),
        )
    except CustomerNotFound:
        logger.info("tags for a customer that is gone", extra=ids)
    except InvalidField as exc:
        logger.warning("tags refused", extra={**ids, "reason": exc.reason})
