"""Events of the customers service (source `clientela.customers`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clientela.money import Amount, Currency, InCurrency
from clientela.numbers import Number

SOURCE = "clientela.customers"


class ConsentV1(BaseModel):
    """Consent to marketing on one channel, as a record."""

    model_config = ConfigDict(frozen=True)

    state: Literal["subscribed", "unsubscribed", "pending", "never_asked"]
    opt_in_level: Literal["single", "confirmed"] | None = None
    updated_at: datetime | None = None
    source: str | None = None


class CustomerV1(InCurrency):
    """A customer profile as events carry it (`total_spent` in its `currency`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str | None = None
    phone: str | None = Field(default=None, description="E.164")
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    region: str | None = None
    gender: str | None = None
    birthday: date | None = None
    language: str | None = Field(default=None, description="BCP 47, e.g. pt-BR")
    favorite: bool = False
    email_consent: ConsentV1 | None = Field(
        default=None, description="Absent in events published before consent records existed."
    )
    sms_consent: ConsentV1 | None = None
    attributes: dict[str, str | bool | int | Number] = Field(
        default_factory=dict,
        description=(
            "The store's custom attributes: text, numbers (JSON numbers, exact) and booleans."
            " Absent in events published before they were carried."
        ),
    )
    # Order, review and activity aggregates (what the customer filters of GET /customers read:
    # automation's flows filter on them). Absent in events published before they were carried.
    orders_count: int | None = Field(default=None, ge=0)
    total_spent: Amount | None = Field(
        default=None, description="Sum of the orders counted, in `currency`, a decimal string."
    )
    currency: Currency | None = Field(default=None, description="Of the customer's orders.")
    last_order_at: datetime | None = None
    last_seen_at: datetime | None = Field(
        default=None,
        description=(
            "As of this event: activity alone (a product view) publishes nothing, so it may be"
            " older than the customer's last activity."
        ),
    )
    rating_average: Number | None = Field(
        default=None, description="Average rating of the customer's reviews, 2 decimals."
    )


class CustomerCreatedV1(BaseModel):
    """A customer profile was created."""

    model_config = ConfigDict(frozen=True)

    customer: CustomerV1


class CustomerUpdatedV1(BaseModel):
    """A customer profile changed, or its order and review aggregates did (`changed` names
    `orders_count`, `total_spent`, `last_order_at`, `rating_average`; the version stays). Carries
    both states so consumers need no extra read."""

    model_config = ConfigDict(frozen=True)

    old: CustomerV1
    new: CustomerV1
    changed: list[str] = Field(description="Names of the fields whose value changed.")


class CustomerDeletedV1(BaseModel):
    """A customer profile was deleted. Carries no personal data."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    version: int = Field(ge=1, description="The version the profile had when deleted.")
    deleted_at: datetime


class CustomerMergedV1(BaseModel):
    """Duplicate profiles were merged into one. The merged ids no longer exist; whatever other
    services keep for them (wallets, flows, messages) belongs to the kept customer now. A
    customer.deleted event follows for each merged id."""

    model_config = ConfigDict(frozen=True)

    merge_id: str
    kept_id: str
    merged_ids: list[str] = Field(min_length=1)
    merged_at: datetime
