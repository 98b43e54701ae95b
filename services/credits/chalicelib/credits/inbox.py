"""The inbox: the offer queue (bus -> SQS -> on_offer_event), customer and order events that
coupons and referrals follow. Each message is handed to every area that follows its type."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.credits.coupons import handlers as coupons
from chalicelib.credits.programmes import usecases as cashback
from chalicelib.credits.referrals import usecases as referrals
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.events import parse_eventbridge

logger = Logger(service="credits")

# What the subscription rule (infra/credits.yaml OfferEventsRule) takes; privacy requests come
# through their own rule (PrivacyRequestsRule) to the same queue.
FOLLOWED_EVENTS = tuple(
    dict.fromkeys((*coupons.FOLLOWED_EVENTS, *referrals.FOLLOWED_EVENTS, *cashback.FOLLOWED_EVENTS))
)


def handle_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    outcomes = {}
    if event.event_type in coupons.FOLLOWED_EVENTS:
        outcomes["coupons"] = coupons.follow(event)
    if event.event_type in referrals.FOLLOWED_EVENTS:
        outcomes["referrals"] = referrals.follow_event(event.metadata.store_id, event.data)
    if event.event_type in cashback.FOLLOWED_EVENTS:
        outcomes["cashback"] = cashback.follow_event(event.metadata.store_id, event.data)
    if event.event_type not in FOLLOWED_EVENTS:
        # The erasure path loads with the first event of another type (privacy requests), not
        # while the function starts: most of its batches are order and customer events only.
        from chalicelib.credits.privacy import handlers as privacy  # noqa: PLC0415

        if event.event_type in privacy.FOLLOWED_EVENTS:
            outcomes["privacy"] = privacy.follow(event)
    # Ids and outcomes only: never the customer's personal data.
    logger.info(
        "offer event handled",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            **outcomes,
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
