"""The imports queue: the import's own steps (read the file, publish the commit) and the
customers service's answers (a chunk planned, a chunk applied), one message at a time."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.exports.imports import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge
from clientela_events.imports import ImportRowsAppliedV1, ImportRowsPreviewedV1

logger = Logger(service="exports")


def handle_message(body: str) -> None:
    message = json.loads(body)
    if "detail-type" not in message:
        usecases.handle_work(message)
        logger.info("import step done", extra={"step": message.get("step")})
        return
    event = parse_eventbridge(message)
    store_id = event.metadata.store_id
    if isinstance(event.data, ImportRowsPreviewedV1):
        usecases.chunk_previewed(store_id, event.data)
    elif isinstance(event.data, ImportRowsAppliedV1):
        usecases.chunk_applied(store_id, event.data)
    logger.info(
        "import event handled",
        extra={"event_type": event.event_type, "event_id": str(event.metadata.event_id)},
    )


def _handle_record(record: SQSRecord) -> None:
    handle_message(record.body)


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
