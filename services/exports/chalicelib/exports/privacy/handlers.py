"""The exports service's privacy queue: its own `privacy.requested` (its part) and every
service's answer (bus -> SQS queue -> on_privacy_event)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.exports.privacy import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge
from clientela_events.privacy import (
    PrivacyContributedV1,
    PrivacyErasedV1,
    PrivacyFailedV1,
    PrivacyRequestedV1,
)

logger = Logger(service="exports")

# What on_privacy_event acts on; its rule (infra/exports.yaml PrivacyRule) takes these.
FOLLOWED_EVENTS = ("privacy.requested", "privacy.contributed", "privacy.erased", "privacy.failed")


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    store_id = event.metadata.store_id
    data = event.data
    if isinstance(data, PrivacyRequestedV1):
        outcome = usecases.follow_requested(store_id, data)
    elif isinstance(data, PrivacyContributedV1 | PrivacyErasedV1 | PrivacyFailedV1):
        outcome = usecases.follow_answer(store_id, data)
    else:
        outcome = "ignored"
    # Ids and outcomes only: never personal data.
    logger.info(
        "privacy event handled",
        extra={
            "event_type": event.event_type,
            "request_id": getattr(data, "request_id", None),
            "outcome": outcome,
        },
    )


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each message on its own: failures go back to the queue (then its DLQ), the rest are done."""
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
