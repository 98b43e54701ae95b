"""Privacy requests across the services (right of access, right to erasure; GDPR, LGPD).

The exports service runs the request (source `clientela.exports`): it publishes
`privacy.requested`, and every service that holds data about customers (customers, credits,
automation, exports) answers for its own part, each under its own source:

- access: it writes a JSON document of everything it holds about the customer to the exports
  bucket at `<parts_prefix><service>.json` (`parts_prefix` is
  `privacy/<store>/<request>/`) and publishes `privacy.contributed`;
- erasure: it erases or anonymises what it holds and publishes `privacy.erased` with how many
  records of each category it erased, kept anonymised or found already erased;
- either: when it cannot do its part it publishes `privacy.failed` with a reason code.

Answers are idempotent per (request, service): a redelivered request is answered again with the
same event id (uuid5 of request, service and event type), and the exports service counts a
service once. No event carries personal data: ids, counts and object keys only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SERVICES",
    "SOURCE",
    "Kind",
    "PrivacyContributedV1",
    "PrivacyErasedV1",
    "PrivacyFailedV1",
    "PrivacyRequestedV1",
    "Service",
    "answer_event_id",
    "part_key",
]

SOURCE = "clientela.exports"
Service = Literal["customers", "credits", "automation", "exports"]
Kind = Literal["access", "erasure"]
# Every service that must confirm before a request is complete.
SERVICES: tuple[Service, ...] = ("customers", "credits", "automation", "exports")
_ANSWERS = uuid.UUID("2f9d6c1a-7b3e-4c5d-8e9f-0a1b2c3d4e5f")
_ID = Field(min_length=1, max_length=128)


def part_key(parts_prefix: str, service: str) -> str:
    """Where a service writes its access contribution in the exports bucket."""
    return f"{parts_prefix}{service}.json"


def answer_event_id(request_id: str, service: str, event_type: str) -> uuid.UUID:
    """The id of a service's answer: the same for every redelivery of the request."""
    return uuid.uuid5(_ANSWERS, f"{request_id}/{service}/{event_type}")


class PrivacyRequestedV1(BaseModel):
    """A store asked for a customer's data (access) or for their erasure."""

    model_config = ConfigDict(frozen=True)

    request_id: str = _ID
    customer_id: str = _ID
    kind: Kind
    requested_at: datetime
    parts_bucket: str = Field(min_length=3, max_length=63, description="The exports bucket")
    parts_prefix: str = Field(
        min_length=1, max_length=512, description="`privacy/<store>/<request>/`"
    )


class PrivacyContributedV1(BaseModel):
    """A service wrote its part of an access request."""

    model_config = ConfigDict(frozen=True)

    request_id: str = _ID
    customer_id: str = _ID
    service: Service
    part_key: str = Field(min_length=1, max_length=1024)
    records: int = Field(ge=0, description="How many records the part holds")
    contributed_at: datetime


class PrivacyErasedV1(BaseModel):
    """A service erased or anonymised what it held about the customer."""

    model_config = ConfigDict(frozen=True)

    request_id: str = _ID
    customer_id: str = _ID
    service: Service
    erased: dict[str, int] = Field(
        description="Records erased or anonymised, by category (e.g. profile, orders, lots)"
    )
    erased_at: datetime


class PrivacyFailedV1(BaseModel):
    """A service could not do its part; `reason` says why (never personal data)."""

    model_config = ConfigDict(frozen=True)

    request_id: str = _ID
    customer_id: str = _ID
    service: Service
    reason: str = Field(min_length=1, max_length=64, pattern="^[a-z0-9-]+$")
    detail: str = Field(min_length=1, max_length=500)
    failed_at: datetime
