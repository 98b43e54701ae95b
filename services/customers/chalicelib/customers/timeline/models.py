"""What the timeline and activity endpoints accept and answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    field_validator,
    model_validator,
)

from chalicelib.customers.timeline.rules import Kind, TimelineEntry
from chalicelib.customers.timeline.usecases import ActivityOutcome, ActivityStatus, reserved_email
from clientela.ids import ID_PATTERN
from clientela.money import Amount, Currency, InCurrency
from clientela.problems import Refused

MAX_ACTIVITY_ITEMS = 100
# Clocks disagree a little; an activity much later than now would pin `last_seen_at` ahead.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_KINDS = ", ".join(kind.value for kind in Kind)

Code = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: list[Kind] | None = Field(
        default=None,
        max_length=len(Kind),
        description="Only entries of these kinds (repeat the parameter for several).",
    )
    limit: int = Field(default=50, ge=1, le=100, description="Page size.")
    cursor: str | None = Field(default=None, max_length=2048, description="From `next_cursor`.")

    @field_validator("kind", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        known = {kind.value for kind in Kind}
        if any(not isinstance(v, str) or v not in known for v in values):
            raise ValueError(f"unknown kind; the kinds are: {_KINDS}")
        return values

    def kinds(self) -> frozenset[Kind] | None:
        return frozenset(self.kind) if self.kind else None


class TimelineItem(BaseModel):
    """One thing that happened to or around the customer."""

    id: str = Field(description="Stable: the same cause always gives the same id.")
    kind: Kind
    at: datetime
    data: dict[str, Any] = Field(
        description=(
            "Depends on the kind. Money (`total`, `amount`, `price`, `balance_after`) is a"
            ' decimal string with the minor units of the entry\'s `currency` ("100.00" BRL,'
            ' "1250" JPY). A profile change names the fields'
            " changed, not their values."
        )
    )
    expires_at: datetime | None = Field(
        description="Product views are kept for 90 days; other entries: null (kept)."
    )

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineItem:
        expires = entry.expires_at
        return cls(
            id=entry.entry_id,
            kind=entry.kind,
            at=entry.at,
            data=entry.data,
            expires_at=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
        )


class TimelinePage(BaseModel):
    """One page of a customer's timeline, newest first."""

    items: list[TimelineItem]
    next_cursor: str | None = Field(
        description=(
            "Pass as `cursor` for the next page; null at the end. A filtered page may hold fewer"
            " than `limit` items (even none) and still have a cursor."
        )
    )


class ActivityIn(InCurrency):
    """A product view or a cart change, as the store saw it."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="The store's id for this activity: sending it again records nothing new.",
    )
    kind: Literal["product_viewed", "added_to_cart", "removed_from_cart"]
    customer_id: str | None = Field(default=None, pattern=ID_PATTERN.pattern)
    email: str | None = Field(
        default=None,
        max_length=320,
        description="Names the shopper when there is no `customer_id` (the id wins).",
    )
    at: AwareDatetime
    product_id: Code
    sku: Code | None = None
    name: Text | None = None
    brand: Text | None = None
    category: Text | None = None
    price: Amount | None = None
    currency: Currency | None = None
    quantity: int | None = Field(default=None, ge=0, le=100_000)
    device: str | None = Field(
        default=None, min_length=1, max_length=40, description="e.g. mobile, desktop, app."
    )
    ip: IPvAnyAddress | None = Field(
        default=None, description="Kept only as the customer's last address; never in entries."
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = reserved_email(value)
        if address is None:
            raise ValueError("is not a valid e-mail address")
        return address

    @field_validator("at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + FUTURE_TOLERANCE:
            raise ValueError("must not be in the future")
        if value < EARLIEST:
            raise ValueError("must not be before 2000")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.customer_id is None and self.email is None:
            raise Refused(
                "customer_id", "customer_id or email is required", "customer_or_email_required"
            )
        return self


class ActivityBatch(BaseModel):
    """Up to 100 product views and cart changes. Invalid items refuse the whole batch (422)."""

    model_config = ConfigDict(extra="forbid")

    items: list[ActivityIn] = Field(min_length=1, max_length=MAX_ACTIVITY_ITEMS)


class ActivityResult(BaseModel):
    event_id: str
    status: ActivityStatus = Field(
        description=(
            "recorded; unknown_customer: no customer of this store has that id or e-mail"
            " (nothing is created); expired: a product view older than views are kept."
        )
    )
    customer_id: str | None
    entry_id: str | None = Field(description="The timeline entry written, when recorded.")

    @classmethod
    def of(cls, outcome: ActivityOutcome) -> ActivityResult:
        return cls(
            event_id=outcome.event_id,
            status=outcome.status,
            customer_id=outcome.customer_id,
            entry_id=outcome.entry_id,
        )


class ActivityResults(BaseModel):
    """One result per item, in the order sent."""

    results: list[ActivityResult]
