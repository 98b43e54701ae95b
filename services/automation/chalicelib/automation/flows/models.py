"""API models of /flows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.automation.flows.rules import Definition
from chalicelib.automation.flows.store import Flow as StoredFlow
from chalicelib.automation.flows.store import FlowSettings

Name = Annotated[str, Field(min_length=1, max_length=200)]
State = Literal["draft", "live", "paused"]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewFlow(_In):
    name: Name
    definition: Definition
    state: Literal["draft", "live"] = Field(
        default="draft", description="live: checked in full first (422 naming the step)."
    )


class FlowChange(_In):
    name: Name
    definition: Definition


class StateChange(_In):
    state: State


class TemplateQuery(_In):
    state: Literal["draft", "live"] = Field(
        default="live",
        description="draft: set it up first (review, edit), then take it live.",
    )


class Flow(BaseModel):
    id: str
    name: str
    state: State
    version: int
    definition: Definition
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, flow: StoredFlow) -> Flow:
        return cls(
            id=flow.flow_id,
            name=flow.name,
            state=flow.state,
            version=flow.version,
            definition=flow.definition,
            created_at=flow.created_at,
            updated_at=flow.updated_at,
        )


class FlowList(BaseModel):
    items: list[Flow]


class Settings(_In):
    """How flows send for this store."""

    time_zone: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="IANA zone, used when the customer's country gives none."
    )
    quiet_start: Clock | None = Field(default=None, description="No flow e-mail from (local).")
    quiet_end: Clock | None = Field(default=None, description="... until (local).")
    smart_sending_hours: int | None = Field(default=None, ge=1, le=168)
    shop_url: Annotated[str, Field(pattern=r"^https?://", max_length=300)] | None = None

    @classmethod
    def of(cls, values: FlowSettings) -> Settings:
        return cls(
            time_zone=values.time_zone,
            quiet_start=values.quiet_start,
            quiet_end=values.quiet_end,
            smart_sending_hours=values.smart_sending_hours,
            shop_url=values.shop_url,
        )
