"""The credits service's subscription to customer and order events (bus -> SQS queue -> here)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.credits.coupons import usecases as coupons
from chalicelib.credits.ledger import usecases as ledger
from chalicelib.credits.programmes import usecases as cashback
from chalicelib.credits.referrals import usecases as referrals
from chalicelib.credits.wallets import usecases
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge

logger = Logger(service="credits")


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    request = {
        "event_id": str(event.metadata.event_id),
        "event_type": event.event_type,
        "store_id": event.metadata.store_id,
        "data": event.data.model_dump(mode="json"),
    }
    # Order events share the queue: their reversals are the ledger's.
    if event.event_type in ledger.FOLLOWED_ORDER_EVENTS:
        outcome = ledger.follow_order_event(request=request)
    elif event.event_type == "customer.merged":
        outcome = ledger.follow_merge(request=request)
        # Both idempotent by state (conditional writes), after the ledger's own idempotency:
        # a redelivery after a failure here completes what is missing.
        store_id, data = event.metadata.store_id, event.data.model_dump(mode="json")
        merged, kept = list(data["merged_ids"]), str(data["kept_id"])
        outcome["cashbacks"] = cashback.follow_merge(store_id, merged, kept)
        outcome["coupons"] = coupons.follow_merge(store_id, merged, kept)
        outcome.update(referrals.follow_merge(store_id, merged, kept))
    else:
        outcome = usecases.follow_customer_event(request=request)
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
