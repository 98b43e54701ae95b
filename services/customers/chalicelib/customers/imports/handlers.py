"""Import chunks from the exports service (through the inbox): plan one, or apply one.

Each answers with an event the exports service follows (its job's counts and report). Both are
safe to redeliver: the plan and what the commit did are kept once and answered again.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.customers.imports import usecases
from chalicelib.customers.inbox import follows
from clientela.events import IncomingEvent, OutgoingEvent, publish
from clientela_events.imports import (
    ImportCommitRequestedV1,
    ImportRowIssue,
    ImportRowMoved,
    ImportRowsAppliedV1,
    ImportRowsPreviewedV1,
    ImportRowsSubmittedV1,
    PlanCounts,
)

logger = Logger(service="customers")


def _publish(event: OutgoingEvent) -> None:
    if publish([event]):
        # Raising hands the message back to the queue: the next attempt answers the same event.
        raise RuntimeError("the bus refused the import event")


@follows("import.rows.submitted")
def on_rows_submitted(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, ImportRowsSubmittedV1)
    store_id = event.metadata.store_id
    preview = usecases.preview_chunk(
        store_id,
        data.import_id,
        data.chunk,
        data.options.model_dump(),
        [(r.row, {str(k): v for k, v in r.fields.items()}) for r in data.rows],
    )
    _publish(
        OutgoingEvent(
            "import.rows.previewed",
            1,
            usecases.event_id(data.import_id, data.chunk, "previewed"),
            store_id,
            usecases.now(),
            ImportRowsPreviewedV1(
                import_id=data.import_id,
                chunk=data.chunk,
                counts=PlanCounts(**preview.counts),
                issues=[ImportRowIssue(**i) for i in preview.issues],
            ),
            correlation_id=event.metadata.correlation_id,
        )
    )
    logger.info("import chunk planned", extra={"import_id": data.import_id, "chunk": data.chunk})


@follows("import.commit.requested")
def on_commit_requested(event: IncomingEvent) -> None:
    data = event.data
    assert isinstance(data, ImportCommitRequestedV1)
    store_id = event.metadata.store_id
    applied = usecases.apply_chunk(store_id, data.import_id, data.chunk)
    _publish(
        OutgoingEvent(
            "import.rows.applied",
            1,
            usecases.event_id(data.import_id, data.chunk, "applied"),
            store_id,
            usecases.now(),
            ImportRowsAppliedV1(
                import_id=data.import_id,
                chunk=data.chunk,
                counts=PlanCounts(**applied.counts),
                moved=[ImportRowMoved(**m) for m in applied.moved],
            ),
            correlation_id=event.metadata.correlation_id,
        )
    )
    logger.info("import chunk applied", extra={"import_id": data.import_id, "chunk": data.chunk})
