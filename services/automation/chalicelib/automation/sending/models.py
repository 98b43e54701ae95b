"""API models of the public e-mail links and of the store's suppression list."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.automation.sending.store import Suppression


class ClickQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    u: str = Field(min_length=1, max_length=4096, description="The link the e-mail carried.")


class SuppressionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=4096, description="From `next_cursor`.")


class SuppressionOut(BaseModel):
    id: str = Field(description="A hash of the address: lift by it, no address in the URL.")
    masked_address: str | None = Field(
        description="First letter and domain (`a***@example.com`); null for older entries."
    )
    reason: Literal["bounce", "complaint"] | str
    at: datetime

    @classmethod
    def of(cls, suppression: Suppression) -> SuppressionOut:
        return cls(
            id=suppression.id,
            masked_address=suppression.masked_address,
            reason=suppression.reason,
            at=suppression.at,
        )


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for more; null at the end.")


class LiftQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3, max_length=500, description="Why mail may go to it again (recorded)."
    )
