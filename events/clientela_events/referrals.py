"""Refer-a-friend events of the credits service (source `clientela.credits`).

One shape for every step of a referral (`referral.created`, `.qualified`, `.flagged`,
`.rewarded`, `.voided`): the referral as it is after the step, with the status's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clientela_events.credits import SOURCE

__all__ = ["SOURCE", "ReferralV1"]

ReferralStatus = Literal["pending", "qualified", "flagged", "rewarded", "voided"]


class ReferralV1(BaseModel):
    """A referral after one of its steps."""

    model_config = ConfigDict(frozen=True)

    referral_id: str = Field(min_length=1, max_length=128)
    referrer_id: str = Field(min_length=1, max_length=128, description="The referring customer")
    friend_id: str = Field(min_length=1, max_length=128, description="The referred customer")
    status: ReferralStatus
    reason: str = Field(min_length=1, max_length=64, description="Why it is in this status")
    order_id: str | None = Field(default=None, max_length=128, description="The first order")
    at: datetime
