"""Events the customers service follows, from the bus through its inbox queue.

Each area registers a handler per event type in `HANDLERS` (`follows`), in its handler module
(`AREAS`); `handle_record` parses one SQS record into its contract and calls it. Handlers are
idempotent on the event's natural id, so a redelivered or reordered event never counts twice.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import IncomingEvent, parse_eventbridge

logger = Logger(service="customers")

Handler = Callable[[IncomingEvent], None]

HANDLERS: dict[str, Handler] = {}
# The modules whose handlers register in HANDLERS: imported with the first event handled, not
# while the function starts (root README, "Cold start"); importing them again is a no-op.
AREAS = (
    "chalicelib.customers.timeline.handlers",
    "chalicelib.customers.orders.handlers",
    "chalicelib.customers.profiles.handlers",
    "chalicelib.customers.privacy.handlers",
    "chalicelib.customers.imports.handlers",
)


def handlers() -> dict[str, Handler]:
    """Every area's handlers, by the event type each follows."""
    for module in AREAS:
        importlib.import_module(module)
    return HANDLERS


def follows(event_type: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function as the handler of `event_type`."""

    def register(handler: Handler) -> Handler:
        HANDLERS[event_type] = handler
        return handler

    return register


def handle_event(body: str | dict[str, Any]) -> None:
    """One EventBridge event (an SQS message body): parsed, then handed to its handler."""
    event = parse_eventbridge(body)
    handler = handlers().get(event.event_type)
    if handler is not None:
        handler(event)
    # Ids only: never the customer's personal data.
    logger.info(
        "event handled",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            "handled": handler is not None,
        },
    )


def _handle_record(record: SQSRecord) -> None:
    handle_event(record.body)


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each message on its own: failures go back to the queue (then its DLQ), the rest are done."""
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response
