"""The credits service's subscription to customer events (bus -> SQS queue -> this handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.credits.wallets import usecases
from clientela.events import parse_eventbridge

logger = Logger(service="credits")


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    outcome = usecases.follow_customer_event(
        request={
            "event_id": str(event.metadata.event_id),
            "event_type": event.event_type,
            "store_id": event.metadata.store_id,
            "data": event.data.model_dump(mode="json"),
        }
    )
    # Ids and outcomes only: never the customer's personal data.
    logger.info(
        "customer event handled",
        extra={"event_type": event.event_type, "event_id": str(event.metadata.event_id), **outcome},
    )


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Processes each message on its own; failures go back to the queue, the rest are done."""
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
