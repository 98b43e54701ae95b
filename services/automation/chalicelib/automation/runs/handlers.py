"""Queue and schedule handlers of runs.

- `handle_event_batch`: bus events for flows (FlowEventsRule -> queue): a trigger (an event,
  `segment.entered`) starts runs, `segment.exited` ends the runs that segment started,
  any customer event is remembered (exits, conditions) and resumes the runs waiting for it, the
  cart is kept line by line, opens, clicks and orders feed the stats.
- `handle_task_batch`: the state machine's tasks (decide a step, park a wait).
- `fire_due`: the every-minute schedule that resumes the runs whose wait is due.
- `fire_dates`: the hourly schedule that starts the runs of date triggers (birthdays, N days
  after sign-up or the last order).
- `fire_schedules`: the every-minute schedule that opens the fan-out of each scheduled flow's
  occurrence (its pages then go through `handle_task_batch`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from chalicelib.automation.contacts import usecases as contacts
from chalicelib.automation.runs import usecases
from chalicelib.automation.runs.store import CartLine
from chalicelib.automation.stats import usecases as stats
from clientela.events import IncomingEvent, parse_eventbridge

# The batch utility and the contracts load in the queue handlers' functions, where they are
# used, not in the three schedules' that share this module (root README, "Cold start").
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from pydantic import BaseModel

logger = Logger(service="automation")


def _customer_id(data: BaseModel) -> str | None:
    customer_id = getattr(data, "customer_id", None)
    if customer_id is None:
        # customer.created carries the profile as `customer`, customer.updated as `new`.
        customer = getattr(data, "customer", None) or getattr(data, "new", None)
        customer_id = getattr(customer, "id", None)
    return customer_id if isinstance(customer_id, str) else None


def _trigger_object(event: IncomingEvent) -> str:
    """What one run per (flow, customer, trigger object) counts: the order, the lot, the
    customer; for a cart update, the update itself (a newer one supersedes, a redelivered one
    is the same)."""
    from clientela_events import credits, segments, storefront  # noqa: PLC0415

    data = event.data
    if isinstance(data, storefront.OrderPlacedV1):
        return f"order:{data.order_id}"
    if isinstance(data, credits.CreditExpiringV1):
        return f"lot:{data.lot_id}"
    if event.event_type == "customer.created":
        return "customer"
    if isinstance(data, segments.SegmentEnteredV1):
        return f"segment:{data.segment_id}:{event.metadata.event_id}"
    return f"event:{event.metadata.event_id}"


def _when(event: IncomingEvent) -> datetime:
    data = event.data
    for name in ("at", "placed_at"):
        value = getattr(data, name, None)
        if isinstance(value, datetime):
            return value
    return event.metadata.occurred_at


def _file_dates(store_id: str, data: BaseModel) -> dict[str, Any]:
    """The date index the date triggers read: birthday and sign-up from the profile, the last
    order's day from the orders."""
    from clientela_events import customers, storefront  # noqa: PLC0415

    profile = None
    if isinstance(data, customers.CustomerCreatedV1):
        profile = data.customer
    elif isinstance(data, customers.CustomerUpdatedV1):
        profile = data.new
    if profile is not None:
        filed = usecases.note_profile_dates(
            store_id,
            profile.id,
            profile.version,
            birthday=profile.birthday,
            signed_up_at=profile.created_at.astimezone(UTC).date(),
        )
        return {"dates_filed": filed}
    if isinstance(data, customers.CustomerDeletedV1):
        usecases.forget_dates(store_id, data.customer_id)
        return {"dates_filed": True}
    if isinstance(data, storefront.OrderPlacedV1) and data.customer_id is not None:
        return {"dates_filed": usecases.note_order_date(store_id, data.customer_id, data.placed_at)}
    return {}


def _ordered_at(data: BaseModel) -> datetime | None:
    """When the customers service counted a new order of the customer (its aggregates moved):
    a guest order the store platform sent with only the e-mail is counted for the customer with
    that e-mail there, so this is how a flow hears of it."""
    from clientela_events import customers  # noqa: PLC0415

    if not isinstance(data, customers.CustomerUpdatedV1) or data.new.last_order_at is None:
        return None
    before = data.old.last_order_at
    return data.new.last_order_at if before is None or data.new.last_order_at > before else None


def follow(event: IncomingEvent) -> dict[str, Any]:
    from clientela_events import automation, segments, storefront  # noqa: PLC0415

    store_id = event.metadata.store_id
    data = event.data
    customer_id = _customer_id(data)
    if customer_id is not None and contacts.erased(store_id, customer_id):
        # Erased: a late event must not file dates, keep a cart or start a run again.
        return {"skipped": "erased"}
    outcome: dict[str, Any] = _file_dates(store_id, data)
    if customer_id is None:  # a guest (e-mail only): flows follow customers
        return {**outcome, "skipped": "no_customer"}
    at = _when(event)
    if isinstance(data, storefront.CartUpdatedV1):
        usecases.note_cart(
            store_id,
            customer_id,
            CartLine(
                data.product_id, data.sku, data.name, data.quantity, data.price, data.currency, at
            ),
        )
    if isinstance(data, storefront.OrderPlacedV1):
        outcome["attributed"] = stats.ordered(
            store_id,
            customer_id,
            order_id=data.order_id,
            placed_at=at,
            total=data.total,
            currency=data.currency,
        )
    if (ordered := _ordered_at(data)) is not None:
        # An order ends runs that exit on orders, guest orders included (see _ordered_at).
        outcome["order_seen"] = usecases.note_event(store_id, customer_id, "order.placed", ordered)
    if isinstance(data, automation.EmailOpenedV1 | automation.EmailClickedV1):
        what = "opened" if isinstance(data, automation.EmailOpenedV1) else "clicked"
        stats.engaged(store_id, customer_id, data.message_id, what, event.metadata.occurred_at)
    outcome["resumed"] = usecases.note_event(store_id, customer_id, event.event_type, at)
    outcome["runs"] = usecases.start_runs(
        store_id, event.event_type, customer_id, _trigger_object(event), at
    )
    if isinstance(data, segments.SegmentEnteredV1):
        outcome["runs"].update(
            usecases.start_segment_runs(
                store_id, data.segment_id, customer_id, _trigger_object(event), at
            )
        )
    if isinstance(data, segments.SegmentExitedV1):
        outcome["segment_exits"] = usecases.end_segment_runs(
            store_id, data.segment_id, customer_id, at
        )
    return outcome


def _event_record(record: SQSRecord) -> None:
    event = parse_eventbridge(record.body)
    outcome = follow(event)
    # Ids and outcomes only: never personal data.
    logger.info(
        "flow event handled",
        extra={
            "event_type": event.event_type,
            "event_id": str(event.metadata.event_id),
            **outcome,
        },
    )


def _task_record(record: SQSRecord) -> None:
    usecases.handle_task(record.json_body)


def _batch(event: dict[str, Any], context: Any, handler: Any) -> dict[str, Any]:
    from clientela.batch import (  # noqa: PLC0415
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=handler,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    return response


def handle_event_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each message on its own; failures go back to the queue, the rest are done."""
    return _batch(event, context, _event_record)


def handle_task_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _task_record)


def fire_due(event: dict[str, Any]) -> dict[str, Any]:
    """The scheduled event's time is the clock's: what is due by then resumes."""
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return {"resumed": usecases.fire_due_timers(now)}


def fire_dates(event: dict[str, Any]) -> dict[str, Any]:
    """The hourly schedule of date triggers: who is due today (the stores' day) enters."""
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return {"started": usecases.fire_date_triggers(now)}


def fire_schedules(event: dict[str, Any]) -> dict[str, Any]:
    """The every-minute schedule of scheduled flows: each occurrence due opens its fan-out."""
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return {"fired": usecases.fire_flow_schedules(now)}
