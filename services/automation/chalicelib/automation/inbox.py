"""The inbox: the contact-events queue (bus -> SQS -> on_contact_event). Each message is
applied to the contacts read model; failures go back to the queue, then its DLQ."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.automation.contacts import handlers as contacts
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge

logger = Logger(service="automation")

FOLLOWED_EVENTS = contacts.FOLLOWED_EVENTS


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    if event.event_type in contacts.FOLLOWED_EVENTS:
        outcome = contacts.follow(event)
    else:
        # The erasure path (messages, runs, sending) loads with the first privacy event, not
        # while the function starts: most of its batches are contact events only.
        from chalicelib.automation.privacy import handlers as privacy  # noqa: PLC0415

        outcome = privacy.follow(event) if event.event_type in privacy.FOLLOWED_EVENTS else "none"
    # Ids and outcomes only: never the customer's personal data.
    logger.info(
        "contact event handled",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            "outcome": outcome,
        },
    )


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
