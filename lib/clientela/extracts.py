"""The owner's side of an export job, the same in every service that owns rows: take an
`export.requested` from the queue, write the part, publish the answer.

A part that keeps failing (a bug, an outage) would otherwise leave its job running forever:
on the queue's last delivery (maxReceiveCount 5 in the templates) the owner answers
`export.part_failed` instead, so the job says why it cannot finish.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from clientela.events import OutgoingEvent, parse_eventbridge, publish
from clientela_events.exports import ExportPartFailedV1, ExportRequestedV1

# The queues' maxReceiveCount: the delivery after which the message goes to the DLQ.
LAST_DELIVERY = 5
log = logging.getLogger(__name__)

Writer = Callable[[str, ExportRequestedV1], OutgoingEvent]
Failure = Callable[[str, ExportRequestedV1, str, str | None], OutgoingEvent]


class NotPublished(Exception):
    """The bus did not take the answer: the message is retried (the part is rewritten)."""


def handle_export_request(record: SQSRecord, write: Writer, failure: Failure) -> str:
    """Writes the part the record asks for and publishes the answer; returns its event type."""
    event = parse_eventbridge(record.body)
    if not isinstance(event.data, ExportRequestedV1):
        return "ignored"
    store_id = event.metadata.store_id
    try:
        answer = write(store_id, event.data)
    except Exception:
        if int(record.attributes.approximate_receive_count) < LAST_DELIVERY:
            raise
        log.exception(
            "export part failed on its last delivery", extra={"job_id": event.data.job_id}
        )
        answer = failure(store_id, event.data, "The rows could not be read; ask again", None)
    if publish([answer]):
        raise NotPublished
    return answer.event_type


# Answers are named by (owner, store, job, part, type): a redelivered request answers with the
# same event id, which the exports service counts once.
_ANSWER_IDS = uuid.UUID("2f1d61a4-0b4b-4e55-8f0e-7a8c9d3b5e21")


def answer(
    store_id: str, request: ExportRequestedV1, event_type: str, data: BaseModel, *, source: str
) -> OutgoingEvent:
    """An owner's answer to an export request (`export.part_written` / `export.part_failed`)."""
    name = f"{source}/{store_id}/{request.job_id}/{request.seq}/{event_type}"
    return OutgoingEvent(
        event_type=event_type,
        version=1,
        event_id=uuid.uuid5(_ANSWER_IDS, name),
        store_id=store_id,
        occurred_at=datetime.now(UTC),
        data=data,
        source=source,
    )


def failed(
    store_id: str, request: ExportRequestedV1, reason: str, field: str | None, *, source: str
) -> OutgoingEvent:
    """`export.part_failed`: why the owner cannot write this part (the reason cut to 500)."""
    data = ExportPartFailedV1(
        job_id=request.job_id, seq=request.seq, reason=reason[:500], field=field
    )
    return answer(store_id, request, "export.part_failed", data, source=source)
