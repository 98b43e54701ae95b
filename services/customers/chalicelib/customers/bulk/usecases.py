"""Bulk actions on customers: up to SYNC_LIMIT ids at once, anything larger as a job.

Every action is idempotent per customer (adding a tag already there leaves it `unchanged`), so a
retried request or a chunk run twice changes nothing more. A job runs as a chain of messages on
the jobs queue, one chunk each: a chunk runs only if it is the job's `next_chunk`, and its
counts, position and the next chunk number are saved together in one conditional write before
the next chunk's message is sent. A redelivered or duplicate message is therefore a no-op.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from chalicelib.customers import keys
from chalicelib.customers.bulk.models import SYNC_LIMIT, BulkRequest, BulkTarget
from chalicelib.customers.bulk.store import Job, JobStore
from chalicelib.customers.errors import (
    ContactRequired,
    CustomerNotFound,
    InvalidField,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.migration import usecases as migration
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.usecases import Precondition
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.segments.models import filter_names
from chalicelib.customers.segments.rules import SegmentNotFound
from chalicelib.customers.segments.store import filter_map
from chalicelib.customers.segments.usecases import get_segment
from chalicelib.customers.settings import settings
from clientela import aws, problems
from clientela.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from clientela.idempotency import idempotent
from clientela.ids import is_id, new_id
from clientela.problems import UnknownReference

logger = Logger(service="customers")

CHUNK_SIZE = 200  # customers per job message
GROUP = 50  # customers read and changed together
WORKERS = 8  # customers changed at the same time
SAFETY_MS = 5000  # a chunk stops early when less of the invocation is left
DEFAULT_BUDGET_MS = 10_000  # without a Lambda context (tests, scripts)
# The jobs queue's maxReceiveCount (infra/customers.yaml): the last try fails the job.
MAX_RECEIVES = 5
_RETRIES = 3

UPDATED, UNCHANGED, NOT_FOUND, REFUSED = "updated", "unchanged", "not_found", "refused"


class JobNotFound(Exception):
    pass


class _CannotRun(Exception):
    """What the job acts on can never be read (a filter stored before a rule refused it):
    retrying cannot help, so the job fails at once, saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Action:
    name: str
    tags: tuple[str, ...] = ()
    channel: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Action:
        return cls(data["name"], tuple(data.get("tags") or ()), data.get("channel"))

    def as_map(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.tags:
            data["tags"] = list(self.tags)
        if self.channel:
            data["channel"] = self.channel
        return data


@dataclass(frozen=True)
class Outcome:
    id: str
    result: str
    reason: str | None = None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _profile_changes(customer: Customer, action: Action) -> dict[str, Any] | None:
    """The merge patch the action makes of this customer (None: nothing to change)."""
    if action.name in ("favorite", "unfavorite"):
        wanted = action.name == "favorite"
        return None if customer.favorite == wanted else {"favorite": wanted}
    have = set(customer.tags)
    tags = have | set(action.tags) if action.name == "add_tags" else have - set(action.tags)
    if tags == have:
        return None
    if len(tags) > domain.MAX_TAGS:
        raise _Refused(f"would have more than {domain.MAX_TAGS} tags")
    return {"tags": sorted(tags)}


def _consent(customer: Customer, action: Action) -> domain.Consent | None:
    """The consent record the action gives (None: already so)."""
    assert action.channel is not None
    current = customer.consent(action.channel)
    if action.name == "unsubscribe":
        if current.state == "unsubscribed":
            return None
        return domain.Consent(state="unsubscribed", source="admin")
    if current.state == "subscribed":
        return None
    contact = customer.email if action.channel == "email" else customer.phone
    if not contact:
        raise _Refused(f"has no {'e-mail' if action.channel == 'email' else 'phone'}")
    if current.state == "unsubscribed" and current.source == "unsubscribe_link":
        # They opted out themselves: only they can opt in again, not an admin in bulk.
        raise _Refused("unsubscribed through an unsubscribe link")
    return domain.Consent(state="subscribed", opt_in_level="single", source="admin")


def _apply(store_id: str, customer: Customer, action: Action, correlation_id: str | None) -> str:
    """Applies the action to the customer as read; UPDATED or UNCHANGED. Raises
    VersionMismatch when the customer changed since it was read."""
    same_version = Precondition(frozenset({customer.version}))
    if action.name == "delete":
        usecases.delete_customer(store_id, customer.id, same_version)
        return UPDATED
    if action.name in ("subscribe", "unsubscribe"):
        consent = _consent(customer, action)
        if consent is None:
            return UNCHANGED
        assert action.channel is not None
        usecases.set_consent(
            store_id, customer.id, action.channel, consent, correlation_id=correlation_id
        )
        return UPDATED
    changes = _profile_changes(customer, action)
    if changes is None:
        return UNCHANGED
    usecases.update_customer(
        store_id, customer.id, changes, same_version, correlation_id=correlation_id
    )
    return UPDATED


def _refusal(error: Exception) -> Outcome | None:
    """What an error of the domain means for one customer (None: read it again, retry)."""
    if isinstance(error, _Refused):
        return Outcome("", REFUSED, error.reason)
    if isinstance(error, CustomerNotFound):
        return Outcome("", NOT_FOUND)
    if isinstance(error, InvalidField):
        return Outcome("", REFUSED, f"{error.field}: {error.reason}")
    if isinstance(error, ContactRequired):
        return Outcome("", REFUSED, "a customer needs an e-mail or a phone")
    return None


def apply_one(
    store_id: str, customer: Customer, action: Action, correlation_id: str | None
) -> Outcome:
    """The action on one customer, re-read and tried again when it changed meanwhile."""
    current: Customer | None = customer
    for _attempt in range(_RETRIES):
        if current is None:
            return Outcome(customer.id, NOT_FOUND)
        try:
            return Outcome(customer.id, _apply(store_id, current, action, correlation_id))
        except (_Refused, InvalidField, ContactRequired, CustomerNotFound) as error:
            refusal = _refusal(error)
            assert refusal is not None
            return replace(refusal, id=customer.id)
        except (VersionMismatch, WriteConflict):
            current = usecases.customer_store().get(store_id, customer.id)
    return Outcome(customer.id, REFUSED, "busy: the customer kept changing, try again")


def apply_to_customers(
    store_id: str, customers: list[Customer], action: Action, correlation_id: str | None
) -> list[Outcome]:
    if not customers:
        return []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(customers))) as pool:
        return list(pool.map(lambda c: apply_one(store_id, c, action, correlation_id), customers))


def apply_to_ids(
    store_id: str, ids: list[str], action: Action, correlation_id: str | None
) -> list[Outcome]:
    """The action on each id, in the order given (one BatchGetItem per 100 ids)."""
    outcomes: list[Outcome] = []
    store = usecases.customer_store()
    for start in range(0, len(ids), GROUP):
        group = ids[start : start + GROUP]
        found = store.get_many(store_id, group)
        done = {
            o.id: o
            for o in apply_to_customers(
                store_id, [found[i] for i in group if i in found], action, correlation_id
            )
        }
        outcomes += [done.get(i) or Outcome(i, NOT_FOUND) for i in group]
    return outcomes


def job_store() -> JobStore:
    return JobStore(aws.dynamodb(), settings().table)


@functools.cache
def _queue_url() -> str:
    url: str = aws.client("sqs").get_queue_url(QueueName=settings().jobs_queue)["QueueUrl"]
    return url


def _queue(store_id: str, job_id: str, chunk: int) -> None:
    """Sends the message of a job's chunk, then notes it was sent."""
    body = json.dumps({"store_id": store_id, "job_id": job_id, "chunk": chunk})
    aws.client("sqs").send_message(QueueUrl=_queue_url(), MessageBody=body)
    job_store().mark_queued(store_id, job_id, chunk)


def _result(action: Action, outcomes: list[Outcome]) -> dict[str, Any]:
    counts = dict.fromkeys((UPDATED, UNCHANGED, NOT_FOUND, REFUSED), 0)
    for outcome in outcomes:
        counts[outcome.result] += 1
    return {
        "action": action.name,
        "counts": counts,
        "results": [
            {"id": o.id, "result": o.result, **({"reason": o.reason} if o.reason else {})}
            for o in outcomes
        ],
    }


def _target(
    store_id: str, target: BulkTarget, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the job acts on, its description without personal data)."""
    if target.ids is not None:
        ids = target.unique_ids()
        return {"kind": "ids", "ids": ",".join(ids)}, {"kind": "ids", "count": len(ids)}
    at = keys.stamp(now)
    if target.segment_id is not None:
        try:
            segment = get_segment(store_id, target.segment_id, now)
        except SegmentNotFound:
            raise UnknownReference("segment", "target.segment_id") from None
        if segment.invalid:
            refused = "; ".join(f"{e.field}: {e.reason}" for e in segment.invalid)
            raise InvalidField(
                "target.segment_id",
                f"the segment's filter can no longer run ({refused}): give it a new filter first",
            )
        return (
            {"kind": "filter", "filter": filter_map(segment.query), "at": at},
            {"kind": "segment", "segment_id": segment.id, "segment_name": segment.name},
        )
    assert target.filter is not None
    return (
        {"kind": "filter", "filter": filter_map(target.filter), "at": at},
        {"kind": "filter", "filters": filter_names(target.filter)},
    )


def start_job(store_id: str, request: BulkRequest, action: Action) -> Job:
    now = domain.now()
    target, description = _target(store_id, request.target, now)
    job = Job(
        id=new_id(),
        store_id=store_id,
        action=action.as_map(),
        target=description,
        created_at=now,
        updated_at=now,
        total=description.get("count"),
    )
    job_store().create(job, target)
    try:
        _queue(store_id, job.id, 0)
    except Exception:
        job_store().fail(store_id, job.id, "could not be queued", domain.now())
        raise
    logger.info(
        "bulk job started", extra={"job_id": job.id, "action": action.name, **_kind(description)}
    )
    return job


def _kind(description: dict[str, Any]) -> dict[str, Any]:
    return {"target_kind": description["kind"], "total": description.get("count")}


def run_bulk(store_id: str, request: BulkRequest, correlation_id: str | None) -> dict[str, Any]:
    """{"status": 200, "result": ...} for up to SYNC_LIMIT ids, else {"status": 202, "job_id"}."""
    action = Action(request.action, tuple(request.tags or ()), request.channel)
    ids = request.target.unique_ids()
    if request.target.ids is not None and len(ids) <= SYNC_LIMIT:
        outcomes = apply_to_ids(store_id, ids, action, correlation_id)
        result = _result(action, outcomes)
        logger.info("bulk action", extra={"action": action.name, **result["counts"]})
        return {"status": 200, "result": result}
    return {"status": 202, "job_id": start_job(store_id, request, action).id}


@idempotent(
    table=lambda: settings().idempotency_table,
    key="[store_id, idempotency_key]",
    payload="body",
)
def run_bulk_once(request: dict[str, Any]) -> dict[str, Any]:
    """`run_bulk` for a request with an Idempotency-Key: a retry gets the first answer (a job's
    id, whose progress is read again)."""
    body = BulkRequest.model_validate(request["body"])
    return run_bulk(request["store_id"], body, request.get("correlation_id"))


def get_job(store_id: str, job_id: str) -> Job:
    job = job_store().get(store_id, job_id) if is_id(job_id) else None
    if job is None:
        raise JobNotFound
    return job


def _work(
    store_id: str, job: Job, target: dict[str, Any], remaining_ms: Callable[[], int]
) -> tuple[list[Outcome], dict[str, Any] | None, bool]:
    """One chunk: (outcomes, where the next chunk starts, whether the job is done)."""
    action = Action.of(job.action)
    correlation_id = f"job-{job.id}"
    outcomes: list[Outcome] = []
    if target["kind"] == "ids":
        ids = str(target["ids"]).split(",")
        offset = int((job.position or {}).get("offset", 0))
        while len(outcomes) < CHUNK_SIZE and offset < len(ids):
            group = ids[offset : offset + min(GROUP, CHUNK_SIZE - len(outcomes))]
            outcomes += apply_to_ids(store_id, group, action, correlation_id)
            offset += len(group)
            if remaining_ms() < SAFETY_MS:
                break
        return outcomes, {"offset": offset}, offset >= len(ids)
    now = datetime.fromisoformat(target["at"])
    try:
        flt = CustomerFilterQuery.model_validate(target["filter"]).to_filter(now)
    except ValidationError as error:
        refused = problems.from_validation_error(error).errors
        raise _CannotRun(
            "the filter cannot run: " + "; ".join(f"{e.field}: {e.reason}" for e in refused)
        ) from None
    position = job.position
    while True:
        try:
            page = search_usecases.find_customers(
                store_id,
                flt,
                sort=None,
                limit=min(GROUP, CHUNK_SIZE - len(outcomes)),
                position=position,
            )
        except InvalidField as error:
            raise _CannotRun(f"the filter cannot run: {error.field}: {error.reason}") from None
        outcomes += apply_to_customers(store_id, page.customers, action, correlation_id)
        position = page.position
        if position is None:
            return outcomes, None, True
        if len(outcomes) >= CHUNK_SIZE or remaining_ms() < SAFETY_MS:
            return outcomes, position, False


def run_chunk(store_id: str, job_id: str, chunk: int, remaining_ms: Callable[[], int]) -> str:
    """Runs the chunk if it is the job's next one; what happened, in a word (for the log)."""
    jobs = job_store()
    job = jobs.get(store_id, job_id)
    if job is None or job.finished:
        return "no job to run"
    if chunk != job.next_chunk:
        if chunk == job.next_chunk - 1 and job.queued_chunk < job.next_chunk:
            # This chunk was saved but its successor never queued (the send failed): queue it.
            _queue(store_id, job_id, job.next_chunk)
            return "successor queued"
        return "duplicate"
    try:
        outcomes, position, done = _work(store_id, job, jobs.target(store_id, job_id), remaining_ms)
    except _CannotRun as error:
        jobs.fail(store_id, job_id, error.reason, domain.now())
        return "failed"
    after = job.after_chunk(
        [(o.id, o.result, o.reason) for o in outcomes], position, done, domain.now()
    )
    if not jobs.advance(job, after):
        return "duplicate"  # another delivery of this chunk saved first
    if not done:
        _queue(store_id, job_id, after.next_chunk)
    return "finished" if done else "advanced"


class ChunkMessage(BaseModel):
    store_id: str
    job_id: str
    chunk: int


def _remaining(context: Any) -> Callable[[], int]:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: int(context.get_remaining_time_in_millis())
    deadline = time.monotonic() + DEFAULT_BUDGET_MS / 1000
    return lambda: int((deadline - time.monotonic()) * 1000)


def _record_handler(context: Any) -> Callable[[SQSRecord], None]:
    def handle(record: SQSRecord) -> None:
        try:
            message = ChunkMessage.model_validate_json(record.body)
        except ValidationError:
            logger.error("not a job chunk message", extra={"message_id": record.message_id})
            return  # retrying cannot make it one
        ids = {"job_id": message.job_id, "chunk": message.chunk}
        migrating = message.job_id == migration.JOB_ID  # a store's re-keying shares the queue
        try:
            if migrating:
                outcome = migration.run_chunk(message.store_id, message.chunk)
            else:
                outcome = run_chunk(
                    message.store_id, message.job_id, message.chunk, _remaining(context)
                )
        except Exception as error:
            receives = int(record.attributes.approximate_receive_count)
            logger.error(
                "job chunk failed",
                extra={**ids, "receives": receives, "error_type": type(error).__name__},
            )
            if receives >= MAX_RECEIVES and migrating:
                reason = f"chunk {message.chunk} failed {receives} times"
                migration.fail(message.store_id, message.chunk, reason)
            elif receives >= MAX_RECEIVES:
                job_store().fail(
                    message.store_id,
                    message.job_id,
                    f"chunk {message.chunk} failed {receives} times",
                    domain.now(),
                )
            raise
        logger.info("job chunk", extra={**ids, "outcome": outcome})

    return handle


def handle_job_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Jobs queue -> chunks; a failed chunk goes back to the queue (then its DLQ)."""
    response: dict[str, Any] = process_partial_response(  # type: ignore[assignment]
        event=event,
        record_handler=_record_handler(context),
        # One chunk per batch: a failed one is reported, not raised (the message is retried).
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )
    return response
