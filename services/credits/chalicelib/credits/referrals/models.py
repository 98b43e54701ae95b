"""What the refer-a-friend API takes and answers. Amounts are decimal strings in the currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    model_validator,
)

from chalicelib.credits.referrals.rules import Programme as DomainProgramme
from chalicelib.credits.referrals.rules import Reason, Status, normalise_code
from chalicelib.credits.referrals.rules import Referral as DomainReferral
from chalicelib.credits.referrals.rules import Referrer as DomainReferrer
from clientela.ids import ID_PATTERN
from clientela.money import Amount, Currency, InCurrency
from clientela.problems import Refused

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
            raise Refused(
                "referrer_reward", "referrer_reward must be more than zero", "not_positive"
            )
        return self


class Programme(ProgrammeSettings):
    model_config = ConfigDict(extra="ignore")

    updated_at: datetime
    version: int = Field(description="Bumped by every write; send it back in If-Match.")

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
            version=programme.version,
        )


class NewReferrer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    ip: IPvAnyAddress | None = Field(
        default=None, description="Where the referrer enrolled from (same-IP sign-ups are flagged)"
    )


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


class NewReferral(BaseModel):
    """A new customer signed up with a referrer's code (the storefront calls this right after
    `POST /customers`)."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(normalise_code)]
    customer_id: CustomerId = Field(description="The new customer (the friend)")
    ip: IPvAnyAddress | None = Field(default=None, description="Where the friend signed up from")


class Referral(BaseModel):
    id: str
    referrer_id: str
    friend_id: str
    code: str
    status: Status
    reason: Reason
    order_id: str | None
    paid_at: datetime | None
    reward_due_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, referral: DomainReferral) -> Referral:
        return cls(
            id=referral.id,
            referrer_id=referral.referrer_id,
            friend_id=referral.friend_id,
            code=referral.code,
            status=referral.status,
            reason=referral.reason,
            order_id=referral.order_id,
            paid_at=referral.paid_at,
            reward_due_at=referral.due_at,
            created_at=referral.created_at,
            updated_at=referral.updated_at,
        )


class ReferralQuery(BaseModel):
    """A referrer's referrals (optionally of one status), or the store's of one status."""

    model_config = ConfigDict(extra="forbid")

    referrer_id: CustomerId | None = None
    status: Status | None = None
    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class ReferralPage(BaseModel):
    items: list[Referral]
    next_cursor: str | None
