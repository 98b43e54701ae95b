"""Coupons follow order events (bus -> SQS queue -> this handler): a cancelled order's coupons
are given back. Reverting is idempotent, so a redelivered event changes nothing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.credits.coupons import usecases
from clientela.events import parse_eventbridge
from clientela_events.storefront import OrderCancelledV1

logger = Logger(service="credits")

# What on_offer_event acts on; its subscription rule (infra/credits.yaml) takes these.
FOLLOWED_EVENTS = ("order.cancelled",)


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    outcome = "ignored"
    if isinstance(event.data, OrderCancelledV1):
        reverted = usecases.revert_order(event.metadata.store_id, event.data.order_id)
        outcome = f"reverted {reverted}"
    logger.info(
        "order event handled",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            "outcome": outcome,
        },
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
