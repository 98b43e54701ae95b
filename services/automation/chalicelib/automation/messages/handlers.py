"""Inbound mail: S3 notifications of the raw replies SES stored (InboundQueue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.automation.messages import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

logger = Logger(service="automation")


def _handle_record(record: SQSRecord) -> None:
    outcomes = usecases.follow_inbound(record.body)
    logger.info("inbound mail handled", extra={"outcomes": outcomes})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
