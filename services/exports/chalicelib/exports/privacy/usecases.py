"""Privacy requests: recorded, announced to every service, followed to their end.

The request is a job: `privacy.requested` asks every service (customers, credits, automation
and this one) for its part; each answer is kept once per service (a redelivery changes
nothing), a `privacy.failed` fails the request with the service's reason, and the request
completes only when all four have confirmed. An access request then assembles the file (JSON,
XML or HTML) from the parts; GET gives a fresh presigned link every time. Every step is safe to
repeat: a crash between recording the last answer and completing is finished by the
redelivery, which finds the answer recorded and completes.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ulid import ULID

from chalicelib.exports.exports.usecases import job_store
from chalicelib.exports.privacy import rules
from chalicelib.exports.privacy.files.rules import RENDERERS
from chalicelib.exports.privacy.rules import Answer, Format, Kind
from chalicelib.exports.privacy.store import (
    PrivacyFiles,
    PrivacyRequest,
    RequestStore,
    customer_ref,
    request_prefix,
)
from chalicelib.exports.settings import settings
from clientela import privacy as protocol
from clientela.events import OutgoingEvent, publish
from clientela.ids import is_id
from clientela_events.privacy import (
    SERVICES,
    PrivacyContributedV1,
    PrivacyErasedV1,
    PrivacyFailedV1,
    PrivacyRequestedV1,
    part_key,
)

_EVENT_IDS = uuid.UUID("6c1f0e2a-9b8d-4e7f-a1c3-5d2e4f6a8b0c")
# An access file is kept this long for the store to hand it over, then the lifecycle rule
# (infra/exports.yaml, privacy/) deletes it.
FILE_RETENTION = timedelta(days=30)
# Export kinds whose files hold personal data of the customers they cover.
PERSONAL_EXPORTS = frozenset({"customers", "emails", "wallets", "orders", "report"})


class RequestNotFound(Exception):
    pass


class NotRequested(Exception):
    """The bus did not take the request: nothing was kept, ask again."""


@functools.cache
def request_store() -> RequestStore:
    return RequestStore()


@functools.cache
def files() -> PrivacyFiles:
    return PrivacyFiles()


def now() -> datetime:
    return datetime.now(UTC)


def request_privacy(
    store_id: str, requested_by: str, *, kind: Kind, customer_id: str, format: Format | None
) -> PrivacyRequest:
    """Records the request and asks every service for its part."""
    request = PrivacyRequest(
        id=f"prv-{ULID()}",
        store_id=store_id,
        kind=kind,
        requested_by=requested_by,
        requested_at=now(),
        customer_id=customer_id,
        customer_ref=customer_ref(store_id, customer_id),
        format=format,
    )
    store = request_store()
    store.create(request)
    data = PrivacyRequestedV1(
        request_id=request.id,
        customer_id=customer_id,
        kind=kind,
        requested_at=request.requested_at,
        parts_bucket=files().bucket,
        parts_prefix=request.prefix,
    )
    event = OutgoingEvent(
        event_type="privacy.requested",
        version=1,
        event_id=uuid.uuid5(_EVENT_IDS, f"{store_id}/{request.id}"),
        store_id=store_id,
        occurred_at=request.requested_at,
        data=data,
        correlation_id=request.id,
    )
    if publish([event]):
        store.discard(request)
        raise NotRequested
    return request


def is_request_id(value: str) -> bool:
    return value.startswith("prv-") and is_id(value.removeprefix("prv-"))


def get_request(store_id: str, request_id: str) -> PrivacyRequest:
    found = request_store().get(store_id, request_id) if is_request_id(request_id) else None
    if found is None:
        raise RequestNotFound
    return found


def list_requests(
    store_id: str, *, limit: int, after: str | None
) -> tuple[list[PrivacyRequest], str | None]:
    return request_store().page(store_id, limit=limit, after=after)


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


def file_name(request: PrivacyRequest) -> str:
    return f"personal-data-{request.id}.{request.format}"


def is_expired(request: PrivacyRequest, at: datetime) -> bool:
    return request.finished_at is not None and at >= request.finished_at + FILE_RETENTION


def link(request: PrivacyRequest, at: datetime) -> Link | None:
    """A fresh presigned link to a completed access file (None before, or once deleted)."""
    if request.file_key is None or request.format is None or is_expired(request, at):
        return None
    ttl = settings().link_ttl
    url = files().link(
        request.file_key, file_name(request), rules.CONTENT_TYPES[request.format], ttl
    )
    return Link(url, at.replace(microsecond=0) + timedelta(seconds=ttl))


# The exports service's own part ------------------------------------------------------------


def _exports_of(store_id: str, customer_id: str) -> list[dict[str, Any]]:
    """The export jobs of personal data that contained the customer, or may have (a filter or
    a segment is matched when the file is written, so it is not known afterwards)."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        jobs, after = job_store().page(store_id, limit=100, after=after)
        for job in jobs:
            if job.kind not in PERSONAL_EXPORTS:
                continue
            target = job.target.get("kind", "all")
            if target == "ids" and customer_id not in job.target.get("ids", []):
                continue
            found.append(
                {
                    "export_id": job.id,
                    "kind": job.kind,
                    "format": job.format,
                    "requested_by": job.requested_by,
                    "requested_at": job.requested_at,
                    "contained": "yes" if target in ("ids", "all") else "possibly",
                }
            )
        if after is None:
            return found


def follow_requested(store_id: str, request: PrivacyRequestedV1) -> str:
    """This service's own answer to the request it published (through its own queue)."""
    at = now()
    earlier = request_store().of_customer(store_id, request.customer_id)
    if request.kind == "access":
        document = {
            "privacy_requests": earlier,
            "exports": _exports_of(store_id, request.customer_id),
        }
        records = len(document["privacy_requests"]) + len(document["exports"])
        protocol.contributed(store_id, request, "exports", document, records=records, at=at)
        own = Answer(
            "exports",
            "contributed",
            at,
            records=records,
            part_key=part_key(request.parts_prefix, "exports"),
        )
        return _own_answer(store_id, request.request_id, own)
    others = [e["request_id"] for e in earlier if e["request_id"] != request.request_id]
    # Access files handed out earlier are copies of the person's data: they go now.
    keys = [
        request_prefix(store_id, other) + name
        for other in others
        for name in (
            *(f"access.{f}" for f in rules.CONTENT_TYPES),
            *(f"{s}.json" for s in SERVICES),
        )
    ]
    files().delete(keys)
    request_store().forget_customer(
        store_id, request.customer_id, [e["request_id"] for e in earlier]
    )
    counts = {"access_files_deleted": len(others), "request_links_forgotten": len(earlier)}
    protocol.erased(store_id, request, "exports", counts, at=at)
    return _own_answer(store_id, request.request_id, Answer("exports", "erased", at, erased=counts))


def _own_answer(store_id: str, request_id: str, answer: Answer) -> str:
    """Recorded at once (its event, back through the queue, then changes nothing)."""
    request_store().record_answer(store_id, request_id, answer)
    request = request_store().get(store_id, request_id)
    return "unknown-request" if request is None else finish_if_ready(request)


# Following the answers --------------------------------------------------------------------


def answer_of(data: PrivacyContributedV1 | PrivacyErasedV1 | PrivacyFailedV1) -> Answer:
    if isinstance(data, PrivacyContributedV1):
        return Answer(
            data.service,
            "contributed",
            data.contributed_at,
            records=data.records,
            part_key=data.part_key,
        )
    if isinstance(data, PrivacyErasedV1):
        return Answer(data.service, "erased", data.erased_at, erased=data.erased)
    return Answer(data.service, "failed", data.failed_at, reason=data.reason, detail=data.detail)


def follow_answer(
    store_id: str, data: PrivacyContributedV1 | PrivacyErasedV1 | PrivacyFailedV1
) -> str:
    """Keeps the service's answer once, then completes or fails the request if it can."""
    recorded = request_store().record_answer(store_id, data.request_id, answer_of(data))
    request = request_store().get(store_id, data.request_id)
    if request is None:
        return "unknown-request"
    outcome = finish_if_ready(request)
    return outcome if recorded or outcome != "waiting" else "already-recorded"


def finish_if_ready(request: PrivacyRequest) -> str:
    if request.status != "in_progress":
        return request.status
    at = now()
    failed = rules.failure(request.answers)
    if failed is not None:
        reason = f"{failed.service} could not do its part: {failed.detail} ({failed.reason})"
        request_store().finish(request, "failed", at, reason=reason)
        return "failed"
    if rules.waiting_for(request.kind, request.answers):
        return "waiting"
    if request.kind == "erasure":
        request_store().finish(request, "completed", at)
        return "completed"
    key, size = _assemble(request, at)
    request_store().finish(request, "completed", at, file_key=key, file_size=size)
    # Only once the request points at the file: until then a retry needs the parts.
    files().delete([part_key(request.prefix, s) for s in SERVICES])
    return "completed"


def _assemble(request: PrivacyRequest, at: datetime) -> tuple[str, int]:
    """Writes the access file from the parts (a retry writes it again)."""
    assert request.format is not None
    parts: dict[str, Any] = {s: files().read_part(part_key(request.prefix, s)) for s in SERVICES}
    meta = {
        "id": request.id,
        "kind": request.kind,
        "customer_id": request.customer_id,
        "requested_at": request.requested_at.isoformat(),
        "generated_at": at.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in rules.deadlines(request.requested_at).items()},
    }
    document = rules.assemble(meta, parts)
    body = RENDERERS[request.format](document)
    key = f"{request.prefix}access.{request.format}"
    return key, files().put(key, body, rules.CONTENT_TYPES[request.format])
