"""The envelope every event shares: who, what, when, which version, and the payload."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Data = TypeVar("Data", bound=BaseModel)


class Metadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: UUID = Field(description="Unique per event; consumers de-duplicate on it.")
    event_type: str = Field(description="Same as the EventBridge detail-type.")
    version: int = Field(ge=1, description="Version of the data schema.")
    occurred_at: datetime = Field(description="When the change was committed (UTC).")
    store_id: str = Field(description="The tenant the event belongs to.")
    correlation_id: str | None = Field(
        default=None,
        description=(
            "Ties the event to the request that caused it; null when the change does not"
            " carry it (deletions)."
        ),
    )


class Envelope(BaseModel, Generic[Data]):
    """The EventBridge `detail` of every Clientela event."""

    model_config = ConfigDict(frozen=True)

    metadata: Metadata
    data: Data
