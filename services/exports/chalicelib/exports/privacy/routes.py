"""Routes of privacy requests: POST /privacy/requests, POST /customers/{id}/data-export (routed
here by the edge), GET /privacy/requests, GET /privacy/requests/{request_id}.

Each parses, calls a use case, answers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from chalicelib.exports.privacy import rules, usecases
from chalicelib.exports.privacy.models import (
    AccessFile,
    DataExport,
    Deadlines,
    FormatName,
    NewPrivacyRequest,
    PrivacyListQuery,
    PrivacyPage,
    PrivacyRequestAnswer,
    ServiceState,
)
from chalicelib.exports.privacy.store import PrivacyRequest
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.ids import is_id
from clientela.problems import FieldError, Problem
from clientela_events.privacy import SERVICES

routes = Routes()
register = routes.register


def _state(request: PrivacyRequest, service: str) -> ServiceState:
    answer = request.answers.get(service)
    if answer is None:
        return ServiceState(service=service, state="waiting")
    return ServiceState(
        service=service,
        state=answer.outcome,
        at=answer.at,
        records=answer.records,
        erased=answer.erased or None,
        reason=answer.reason,
        detail=answer.detail,
    )


def request_answer(request: PrivacyRequest, at: datetime) -> PrivacyRequestAnswer:
    due = rules.due_at(request.requested_at)
    in_progress = request.status == "in_progress"
    reason = request.reason
    if in_progress:
        reason = rules.waiting_reason(request.kind, request.answers, at, due)
    file = None
    if request.file_key is not None and request.finished_at is not None:
        link = usecases.link(request, at)
        file = AccessFile(
            name=usecases.file_name(request),
            size=request.file_size or 0,
            url=link.url if link else None,
            expires_at=link.expires_at if link else None,
            deleted_at=request.finished_at + usecases.FILE_RETENTION,
        )
    deadlines = rules.deadlines(request.requested_at)
    return PrivacyRequestAnswer(
        id=request.id,
        kind=request.kind,
        format=request.format,
        customer_id=request.customer_id,
        customer_ref=request.customer_ref,
        status=request.status,
        reason=reason,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        deadlines=Deadlines(gdpr=deadlines["gdpr"], lgpd=deadlines["lgpd"]),
        due_at=due,
        overdue=at > due
        if in_progress
        else bool(request.finished_at and request.finished_at > due),
        services=[_state(request, s) for s in SERVICES],
        waiting_for=rules.waiting_for(request.kind, request.answers) if in_progress else [],
        finished_at=request.finished_at,
        file=file,
    )


def _start(call: Call, kind: rules.Kind, customer_id: str, format: FormatName | None) -> Reply:
    try:
        request = usecases.request_privacy(
            call.store_id,
            call.principal.subject or "store",
            kind=kind,
            customer_id=customer_id,
            format=format,
        )
    except usecases.NotRequested:
        raise Problem(
            503, "unavailable", "Try again", "The request could not be started; ask again"
        ) from None
    location = f"/privacy/requests/{request.id}"
    return Reply(202, request_answer(request, usecases.now()), {"Location": location})


@routes.route(
    "/privacy/requests",
    "POST",
    summary="Ask for a customer's data (access) or their erasure",
    body=NewPrivacyRequest,
    response=PrivacyRequestAnswer,
    status=202,
    errors=(422, 503),
    response_headers=("Location",),
    creates="request_id",
)
def create_request(call: Call) -> Reply:
    """A job (202, `Location`): every service (customers, credits, automation, exports) does its
    part and confirms; the request completes only when all four have. `GET` shows which have,
    the deadlines (GDPR one month, LGPD 15 days; due at the earlier) and, for access, a link
    to the file once it is assembled. An unknown customer fails the request with the reason."""
    body: NewPrivacyRequest = call.body
    if body.kind == "erasure" and body.format is not None:
        raise problems.invalid(
            [FieldError("format", "An erasure produces no file: leave format out")]
        )
    fmt = (body.format or "json") if body.kind == "access" else None
    return _start(call, body.kind, body.customer_id, fmt)


@routes.route(
    "/customers/{customer_id}/data-export",
    "POST",
    summary="Export one customer's personal data (right of access)",
    body=DataExport,
    response=PrivacyRequestAnswer,
    status=202,
    errors=(404, 422, 503),
    response_headers=("Location",),
    creates="request_id",
)
def data_export(call: Call, customer_id: str) -> Reply:
    """The same as `POST /privacy/requests` with kind `access`, in JSON, XML or HTML."""
    if not is_id(customer_id):
        raise problems.not_found("customer")
    body: DataExport = call.body
    return _start(call, "access", customer_id, body.format)


@routes.route(
    "/privacy/requests/{request_id}",
    "GET",
    summary="Get a privacy request",
    response=PrivacyRequestAnswer,
)
def get_request(call: Call, request_id: str) -> Reply:
    """Which services confirmed, why it is not complete (or failed), the deadlines, and for a
    completed access request the file with a fresh presigned link (GET again for another)."""
    try:
        request = usecases.get_request(call.store_id, request_id)
    except usecases.RequestNotFound:
        raise problems.not_found("privacy request") from None
    return Reply(200, request_answer(request, usecases.now()))


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    moment, _, request_id = text.partition("#")
    if not usecases.is_request_id(request_id) or not 20 <= len(moment) <= 40:
        raise problems.invalid([FieldError("cursor", "Invalid cursor")], "Invalid cursor")
    return text


def _cursor(after: str | None) -> str | None:
    return None if after is None else base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


@routes.route(
    "/privacy/requests",
    "GET",
    summary="List the store's privacy requests",
    query=PrivacyListQuery,
    response=PrivacyPage,
    errors=(422,),
)
def list_requests(call: Call) -> Reply:
    """Every privacy request of the store and its outcome, newest first, kept without the
    personal data once an erasure completed: the store's proof of compliance."""
    query: PrivacyListQuery = call.query
    found, after = usecases.list_requests(
        call.store_id, limit=query.limit, after=_after(query.cursor)
    )
    at = usecases.now()
    return Reply(
        200,
        PrivacyPage(items=[request_answer(r, at) for r in found], next_cursor=_cursor(after)),
    )
