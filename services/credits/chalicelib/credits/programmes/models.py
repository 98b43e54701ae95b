"""What the credits settings and cashback API take and answer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from chalicelib.credits.programmes.rules import Cashback as DomainCashback
from chalicelib.credits.programmes.rules import PendingCashback, StoreSettings
from clientela import money
from clientela.money import Amount, Currency


class CashbackProgramme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    percent: Decimal = Field(
        default=Decimal(5), gt=0, le=100, decimal_places=4, description="Of the order total"
    )
    hold_window_days: int = Field(default=14, ge=0, le=365, description="Days before the grant")
    expiry_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days the granted cashback lasts; none: forever"
    )
    minimum_total: Amount | None = Field(default=None, description="Orders below earn nothing")


class CreditsSettings(BaseModel):
    """The store's credits settings (PUT replaces them all; omitted fields take defaults)."""

    model_config = ConfigDict(extra="forbid")

    default_currency: Currency = "BRL"
    expiring_lead_days: int = Field(
        default=7, ge=0, le=365, description="Days before expiry `credit.expiring` goes out"
    )
    cashback: CashbackProgramme = Field(default_factory=CashbackProgramme)
    credit_limit: Amount | None = Field(
        default=None,
        description="The most credit one customer may hold in default_currency after an "
        "admin's grant or adjustment (a credit past it gets 422); none: no limit.",
    )

    @field_validator("credit_limit")
    @classmethod
    def _in_default_currency(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        currency = info.data.get("default_currency")
        if value is not None and currency is not None:
            if money.decimals(value) > money.minor_units(currency):
                raise ValueError(f"more decimals than {currency} has")
            if value <= 0:
                raise ValueError("must be greater than zero")
        return value

    def domain(self) -> StoreSettings:
        c = self.cashback
        return StoreSettings(
            default_currency=self.default_currency,
            expiring_lead_days=self.expiring_lead_days,
            credit_limit=self.credit_limit,
            cashback=DomainCashback(
                enabled=c.enabled,
                percent=c.percent,
                hold_window_days=c.hold_window_days,
                expiry_days=c.expiry_days,
                minimum_total=c.minimum_total,
            ),
        )


class CreditsSettingsOut(CreditsSettings):
    model_config = ConfigDict(extra="ignore")

    version: int = Field(description="0: never set (the defaults)")
    updated_at: datetime | None = None

    @classmethod
    def of(cls, s: StoreSettings) -> CreditsSettingsOut:
        c = s.cashback
        return cls(
            default_currency=s.default_currency,
            expiring_lead_days=s.expiring_lead_days,
            cashback=CashbackProgramme(
                enabled=c.enabled,
                percent=c.percent,
                hold_window_days=c.hold_window_days,
                expiry_days=c.expiry_days,
                minimum_total=c.minimum_total,
            ),
            version=s.version,
            updated_at=s.updated_at,
            credit_limit=s.credit_limit,
        )


class CashbackOut(BaseModel):
    order_id: str
    status: str = Field(description="pending, granted or voided")
    reason: str = Field(description="Why it is in this status")
    amount: str
    currency: str
    total: str = Field(description="The order's total")
    refunded: str = Field(description="Of the total, what was refunded before the grant")
    placed_at: datetime
    due_at: datetime
    clawed_back: str = Field(
        description="Granted, then the order was cancelled or refunded: what was taken back "
        "from the granted lot"
    )
    uncollectable: str = Field(
        description="What could not be taken back (already spent or expired): it stays spent"
    )

    @classmethod
    def of(cls, c: PendingCashback) -> CashbackOut:
        return cls(
            order_id=c.order_id,
            status=c.status.value,
            reason=c.reason.value,
            amount=str(c.amount),
            currency=c.currency,
            total=str(c.total),
            refunded=str(c.refunded),
            placed_at=c.placed_at,
            due_at=c.due_at,
            clawed_back=money.text(c.clawed, c.currency),
            uncollectable=money.text(c.uncollectable, c.currency),
        )


class CashbackList(BaseModel):
    pending: str = Field(description="The sum of the pending cashbacks")
    items: list[CashbackOut]
