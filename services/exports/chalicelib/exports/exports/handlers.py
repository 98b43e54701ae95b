"""The exports service's subscription to the owners' answers (bus -> SQS queue -> here)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.exports.exports import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge
from clientela_events.exports import ExportPartFailedV1, ExportPartWrittenV1

logger = Logger(service="exports")

# What on_export_part acts on; its rule (infra/exports.yaml PartsRule) takes these.
FOLLOWED_EVENTS = ("export.part_written", "export.part_failed")


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    store_id = event.metadata.store_id
    if isinstance(event.data, ExportPartWrittenV1):
        outcome = usecases.follow_part_written(store_id, event.data)
        job_id, seq = event.data.job_id, event.data.seq
    elif isinstance(event.data, ExportPartFailedV1):
        outcome = usecases.follow_part_failed(store_id, event.data)
        job_id, seq = event.data.job_id, event.data.seq
    else:
        outcome, job_id, seq = "ignored", "", -1
    # Ids and outcomes only: never the rows' personal data.
    logger.info(
        "export part handled",
        extra={"event_type": event.event_type, "job_id": job_id, "seq": seq, "outcome": outcome},
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
