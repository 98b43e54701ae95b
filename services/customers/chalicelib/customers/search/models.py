"""What the customer search and count API accepts and answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import ConsentState, Customer
from chalicelib.customers.search.rules import CustomerFilter, search_query, searchable
from clientela.customer_filter import RANGES, SAME_NAMED, When, end_of, start_of
from clientela.money import Amount
from clientela.problems import Refused

Sort = Literal[
    "created_at",
    "-created_at",
    "name",
    "-name",
    "total_spent",
    "-total_spent",
    "orders_count",
    "-orders_count",
    "last_order_at",
    "-last_order_at",
    "last_seen_at",
    "-last_seen_at",
]


_SPENT = (
    "Compared with `total_spent`, in the customers' own currency: a decimal string (or number)"
    " with at most 4 decimals."
)


class CustomerFilterQuery(BaseModel):
    """The filters of GET /customers (also a segment's definition). Dates are UTC days or times."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description=(
            "E-mail or phone (exact or prefix; a phone in international form, `+55 11 9...`, or"
            " national, `(11) 9...`), or a prefix of the name from any of its words (`silveira`,"
            " `silveira, ana`) or of its initials; case, accents and commas ignored. Must"
            " contain a letter or a digit."
        ),
    )
    tag: list[str] | None = Field(default=None, max_length=20, description="Repeatable.")
    tag_mode: Literal["any", "all"] = "any"
    favorite: bool | None = None
    email_consent: ConsentState | None = None
    sms_consent: ConsentState | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    city: str | None = Field(
        default=None,
        max_length=domain.MAX_NAME_LENGTH,
        description="Case and accents ignored. Must contain a letter or a digit.",
    )
    status: Literal["active", "inactive"] | None = None
    created_from: When | None = None
    created_to: When | None = None
    last_seen_from: When | None = None
    last_seen_to: When | None = None
    orders_min: int | None = Field(default=None, ge=0, le=10**9)
    orders_max: int | None = Field(default=None, ge=0, le=10**9)
    spent_min: Amount | None = Field(default=None, description=_SPENT)
    spent_max: Amount | None = Field(default=None, description=_SPENT)
    last_order_before: When | None = Field(
        default=None, description="No order since this date (never-ordered customers included)."
    )
    last_order_after: When | None = None
    never_ordered: bool | None = None
    rating_min: Decimal | None = Field(default=None, ge=1, le=5, decimal_places=2)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else domain.normalise_country(value)

    @field_validator("tag")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else domain.normalise_tags(value)

    # Here, in the one filter model, so the list, counts, segments and bulk filters all refuse
    # a text that could never find anything (and would reach DynamoDB as an empty prefix).
    @field_validator("q")
    @classmethod
    def _q(cls, value: str | None) -> str | None:
        if value is None:
            return None
        search_query(value)  # raises ValueError for a search that cannot find anything
        return value.strip()

    @field_validator("city")
    @classmethod
    def _city(cls, value: str | None) -> str | None:
        return None if value is None else searchable(value)

    @model_validator(mode="after")
    def _ranges(self) -> CustomerFilterQuery:
        for low, high in RANGES:
            a, b = getattr(self, low), getattr(self, high)
            if a is None or b is None:
                continue
            if isinstance(a, date):
                a, b = start_of(a), end_of(b)
            if a > b:
                raise Refused(low, f"{low} must not be after {high}", "range_reversed")
        return self

    def to_filter(self, now: datetime) -> CustomerFilter:
        given = {name: getattr(self, name) for name in SAME_NAMED}
        built: CustomerFilter = CustomerFilter.of_parameters(
            now, tags=tuple(self.tag or ()), **given
        )
        return built


class ListQuery(CustomerFilterQuery):
    limit: int = Field(default=50, ge=1, le=200, description="Page size.")
    cursor: str | None = Field(default=None, max_length=4096, description="From `next_cursor`.")
    sort: Sort | None = Field(
        default=None,
        description=(
            "`-` for descending. Default: newest first; with a range filter and no `sort`, the"
            " filter's own order (the page's `sort` says which)."
        ),
    )


class CustomerPage(BaseModel):
    """One page of customers."""

    items: list[Customer]
    next_cursor: str | None = Field(
        description=(
            "Pass as `cursor` for the next page; null at the end. A page may hold fewer than"
            " `limit` customers when filters not served by an index skip many: keep following"
            " the cursor."
        )
    )
    sort: str = Field(description="The order of this listing.")


class CustomerCount(BaseModel):
    count: int
    counted_by: Literal["counters", "query"] = Field(
        default="query",
        description=(
            "`counters`: kept by every write that changes a customer, read in one small read per"
            " store shard whatever the store's size (no filter, one `tag`, or one of `country`,"
            " `favorite`, `email_consent`, `sms_consent`); `query`: read as the listing reads"
            " (every other filter). Both are exact."
        ),
    )
