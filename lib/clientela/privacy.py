"""What every service does to answer a privacy request (clientela_events.privacy).

The request's protocol lives once here: the JSON form of a service's access contribution, where
it is written, and the answer events, each with an id fixed by (request, service, event type) so
that a redelivered request is answered again without counting twice. A failed publish raises:
the request's message goes back to the queue and the whole (idempotent) answer is redone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from clientela import aws
from clientela.events import OutgoingEvent, publish
from clientela_events.privacy import (
    PrivacyContributedV1,
    PrivacyErasedV1,
    PrivacyFailedV1,
    PrivacyRequestedV1,
    Service,
    answer_event_id,
    part_key,
)

SOURCES: dict[str, str] = {
    "customers": "clientela.customers",
    "credits": "clientela.credits",
    "automation": "clientela.automation",
    "exports": "clientela.exports",
}


class AnswerNotPublished(Exception):
    """The bus refused the answer; the request is redelivered and answered again."""


def _scalar(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def plain(value: Any) -> Any:
    """A JSON-ready copy: dataclasses and models as objects, money and numbers exact (text)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return _scalar(value)


def write_part(request: PrivacyRequestedV1, service: Service, document: Mapping[str, Any]) -> str:
    """Writes the service's access contribution (overwritten by a redelivery); its key."""
    key = part_key(request.parts_prefix, service)
    body = json.dumps(plain(document), ensure_ascii=False, sort_keys=True).encode()
    aws.s3().put_object(
        Bucket=request.parts_bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )
    return key


def _answer(
    store_id: str,
    request_id: str,
    service: Service,
    event_type: str,
    data: BaseModel,
    *,
    at: datetime,
) -> None:
    event = OutgoingEvent(
        event_type=event_type,
        version=1,
        event_id=answer_event_id(request_id, service, event_type),
        store_id=store_id,
        occurred_at=at,
        data=data,
        correlation_id=request_id,
        source=SOURCES[service],
    )
    if publish([event]):
        raise AnswerNotPublished(event_type)


def contributed(
    store_id: str,
    request: PrivacyRequestedV1,
    service: Service,
    document: Mapping[str, Any],
    *,
    records: int,
    at: datetime,
) -> None:
    key = write_part(request, service, document)
    data = PrivacyContributedV1(
        request_id=request.request_id,
        customer_id=request.customer_id,
        service=service,
        part_key=key,
        records=records,
        contributed_at=at,
    )
    _answer(store_id, request.request_id, service, "privacy.contributed", data, at=at)


def erased(
    store_id: str,
    request: PrivacyRequestedV1,
    service: Service,
    counts: Mapping[str, int],
    *,
    at: datetime,
) -> None:
    data = PrivacyErasedV1(
        request_id=request.request_id,
        customer_id=request.customer_id,
        service=service,
        erased=dict(counts),
        erased_at=at,
    )
    _answer(store_id, request.request_id, service, "privacy.erased", data, at=at)


def failed(
    store_id: str,
    request: PrivacyRequestedV1,
    service: Service,
    *,
    reason: str,
    detail: str,
    at: datetime,
) -> None:
    data = PrivacyFailedV1(
        request_id=request.request_id,
        customer_id=request.customer_id,
        service=service,
        reason=reason,
        detail=detail,
        failed_at=at,
    )
    _answer(store_id, request.request_id, service, "privacy.failed", data, at=at)
