"""The customers service's subscription to export requests (bus -> SQS queue -> here)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.customers.extracts import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.extracts import handle_export_request

logger = Logger(service="customers")


def handle_record(record: SQSRecord) -> None:
    outcome = handle_export_request(record, usecases.write_part, usecases.failure)
    logger.info("export request handled", extra={"outcome": outcome})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Processes each message on its own; failures go back to the queue, the rest are done."""
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
