"""What the privacy API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clientela.ids import is_id

FormatName = Literal["json", "xml", "html"]


def _customer_id(value: str) -> str:
    if not is_id(value):
        raise ValueError("is not a customer id")
    return value


class NewPrivacyRequest(BaseModel):
    """A right-of-access or right-to-erasure request about one customer."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["access", "erasure"]
    customer_id: str = Field(min_length=1, max_length=128, description="The customer's id.")
    format: FormatName | None = Field(
        default=None,
        description="Access only: the file's format (default json); an erasure has none.",
    )

    _check_id = field_validator("customer_id")(_customer_id)


class DataExport(BaseModel):
    """`POST /customers/{id}/data-export`: the access request of one customer."""

    model_config = ConfigDict(extra="forbid")

    format: FormatName = "json"


class ServiceState(BaseModel):
    service: Literal["customers", "credits", "automation", "exports"]
    state: Literal["waiting", "contributed", "erased", "failed"]
    at: datetime | None = None
    records: int | None = Field(default=None, description="Access: records in its part.")
    erased: dict[str, int] | None = Field(
        default=None, description="Erasure: records erased or anonymised, by category."
    )
    reason: str | None = None
    detail: str | None = None


class Deadlines(BaseModel):
    gdpr: datetime = Field(description="One month after the request (GDPR art. 12(3)).")
    lgpd: datetime = Field(description="15 days after the request (LGPD art. 19 II).")


class AccessFile(BaseModel):
    name: str
    size: int
    url: str | None = Field(description="Presigned link, fresh on every GET; null once deleted.")
    expires_at: datetime | None = Field(description="When the link stops working.")
    deleted_at: datetime = Field(description="When the file itself is deleted.")


class PrivacyRequestAnswer(BaseModel):
    id: str
    kind: Literal["access", "erasure"]
    format: FormatName | None
    customer_id: str | None = Field(
        description="Null once an erasure completed: the record keeps only `customer_ref`."
    )
    customer_ref: str = Field(description="A digest of the store and customer id.")
    status: Literal["in_progress", "completed", "failed"]
    reason: str | None = Field(description="Why it is not complete, or why it failed.")
    requested_by: str
    requested_at: datetime
    deadlines: Deadlines
    due_at: datetime = Field(description="The earlier deadline: meeting it meets both.")
    overdue: bool
    services: list[ServiceState]
    waiting_for: list[str]
    finished_at: datetime | None
    file: AccessFile | None


class PrivacyPage(BaseModel):
    """The store's privacy requests, newest first: the record it keeps for compliance."""

    items: list[PrivacyRequestAnswer]
    next_cursor: str | None


class PrivacyListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)
