"""Segment membership events of the customers service (source `clientela.customers`).

`segment.entered` / `segment.exited`: a change to a customer made them match / stop matching one
of the store's segments (saved or built-in). Ids and a time only, never personal data. Published
from the customers table's stream: each is derived from one stream record, and its event id from
(segment, customer, change), so a redelivered record republishes the same ids.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SOURCE = "clientela.customers"

_NAMESPACE = uuid.UUID("2a6e9c4d-71f3-4b8e-9d05-3c8b7e1f6a24")


class _Membership(BaseModel):
    model_config = ConfigDict(frozen=True)

    segment_id: str = Field(min_length=1, max_length=128)
    customer_id: str = Field(min_length=1, max_length=128)
    at: AwareDatetime


class SegmentEnteredV1(_Membership):
    """The customer matches the segment since this change (they did not before it)."""


class SegmentExitedV1(_Membership):
    """The customer no longer matches the segment since this change (or was deleted)."""


def membership_event_id(
    segment_id: str, customer_id: str, change: str, direction: Literal["entered", "exited"]
) -> uuid.UUID:
    """One id per (segment, customer, change): `change` names the change (the stream record's
    id), so the same record always yields the same ids and a later entry a new one."""
    return uuid.uuid5(_NAMESPACE, f"{segment_id}/{customer_id}/{change}/{direction}")
