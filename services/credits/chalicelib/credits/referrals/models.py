"""What the refer-a-friend API takes and answers. Amounts are decimal strings in the currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from chalicelib.credits.referrals.rules import Programme as DomainProgramme
from chalicelib.credits.referrals.rules import Referrer as DomainReferrer
from clientela.ids import ID_PATTERN
from clientela.money import Amount, Currency, InCurrency

CustomerId = Annotated[str, Field(pattern=ID_PATTERN.pattern, description="The customer's id")]


class ProgrammeSettings(InCurrency):
    """The store's refer-a-friend programme. Rewards are credit, granted through the ledger."""

    model_config = ConfigDict(extra="forbid")

    referrer_reward: Amount = Field(description="Credit for the referrer, per referral")
    friend_reward: Amount = Field(description="Credit for the friend (may be zero)")
    currency: Currency
    expiry_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days the reward credit lasts; none: no expiry"
    )
    hold_window_days: int = Field(
        default=14, ge=0, le=365, description="Days the first order must outlive (returns)"
    )
    monthly_cap: int | None = Field(
        default=None, ge=1, le=10000, description="Rewarded referrals per referrer per month"
    )
    share_base_url: AnyHttpUrl = Field(description="The store page share links point to")

    @model_validator(mode="after")
    def _rewards(self) -> Self:
        if self.referrer_reward <= 0:
            raise ValueError("referrer_reward must be more than zero")
        return self


class Programme(ProgrammeSettings):
    model_config = ConfigDict(extra="ignore")

    updated_at: datetime

    @classmethod
    def of(cls, programme: DomainProgramme) -> Programme:
        return cls(
            referrer_reward=programme.referrer_reward,
            friend_reward=programme.friend_reward,
            currency=programme.currency,
            expiry_days=programme.expiry_days,
            hold_window_days=programme.hold_window_days,
            monthly_cap=programme.monthly_cap,
            share_base_url=AnyHttpUrl(programme.share_base_url),
            updated_at=programme.updated_at,
        )


class NewReferrer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId


class Referrer(BaseModel):
    customer_id: str
    code: str = Field(description="What friends sign up with")
    share_link: str
    enrolled_at: datetime

    @classmethod
    def of(cls, referrer: DomainReferrer) -> Referrer:
        return cls(
            customer_id=referrer.customer_id,
            code=referrer.code,
            share_link=referrer.share_link,
            enrolled_at=referrer.enrolled_at,
        )
