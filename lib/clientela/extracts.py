"""The owner's side of an export job, the same in every service that owns rows: take an
`export.requested` from the queue, write the part, publish the answer.

A part that keeps failing (a bug, an outage) would otherwise leave its job running forever:
on the queue's last delivery (maxReceiveCount 5 in the templates) the owner answers
`export.part_failed` instead, so the job says why it cannot finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from clientela.events import OutgoingEvent, parse_eventbridge, publish
from clientela_events.exports import ExportRequestedV1

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
