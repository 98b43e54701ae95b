"""SES notifications (bounces, complaints), from SesEventsQueue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.automation.sending import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

logger = Logger(service="automation")


def _handle_record(record: SQSRecord) -> None:
    outcome = usecases.follow_feedback(record.body)
    logger.info("SES notification handled", extra={"outcome": outcome})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
