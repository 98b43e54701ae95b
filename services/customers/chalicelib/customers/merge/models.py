"""What the merge API accepts and answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from chalicelib.customers.profiles.models import Customer


class MergeRequest(BaseModel):
    """Duplicates to fold into one kept profile."""

    model_config = ConfigDict(extra="forbid")

    keep_id: str = Field(min_length=1, max_length=64, description="The profile that stays.")
    merge_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=10, description="Profiles folded into it, then deleted."
    )
    dry_run: bool = Field(default=False, description="Only preview: nothing changes.")


class MergeResult(BaseModel):
    """What a merge does (preview) or did."""

    dry_run: bool
    merge_id: str | None = Field(description="Names the customer.merged event; null in a preview.")
    customer: Customer = Field(description="The kept profile as it is (or would be) after.")
    merged_ids: list[str]
    orders_moved: int
    timeline_entries_moved: int
    tags_added: list[str]
    attributes_added: list[str]
    fields_filled: list[str] = Field(description="Fields the kept profile lacked, taken over.")
