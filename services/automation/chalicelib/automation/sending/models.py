"""API models of the public e-mail links."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClickQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    u: str = Field(min_length=1, max_length=4096, description="The link the e-mail carried.")
