"""What the segments, bulk actions and jobs API accepts and answers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from chalicelib.customers.search.models import CustomerFilterQuery, Sort
from chalicelib.customers.segments.rules import MAX_NAME_LENGTH, clean_name
from chalicelib.customers.segments.rules import Segment as SegmentRecord
from clientela.customer_filter import When
from clientela.money import Amount
from clientela.problems import Refused

INVALID_FILTER_DETAIL = (
    "This segment was saved with a filter that can no longer run; PATCH it with a new filter,"
    " or delete it"
)


def _name(value: str) -> str:
    return clean_name(value)


SegmentName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_name)]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_text(value: Any) -> Any:
    """Dates as ISO 8601 text only (pydantic would also read numbers as Unix times)."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date (YYYY-MM-DD) or a date-time (ISO 8601)")
    return value


JsonWhen = Annotated[When | None, BeforeValidator(_iso_text)]
Count = Annotated[StrictInt | None, Field(ge=0, le=10**9)]


class SegmentFilter(CustomerFilterQuery):
    """The filters of GET /customers as a JSON object: `tag` is a list; booleans, counts and
    dates must be JSON booleans, integers and ISO 8601 text. Dates are UTC days or times."""

    favorite: StrictBool | None = None
    never_ordered: StrictBool | None = None
    orders_min: Count = None
    orders_max: Count = None
    created_from: JsonWhen = None
    created_to: JsonWhen = None
    last_seen_from: JsonWhen = None
    last_seen_to: JsonWhen = None
    last_order_before: JsonWhen = Field(
        default=None, description="No order since this date (never-ordered customers included)."
    )
    last_order_after: JsonWhen = None

    def query(self) -> CustomerFilterQuery:
        """As the plain filter model (what segments store and compare)."""
        return CustomerFilterQuery.model_validate(self.model_dump(exclude_unset=True))


class SegmentParameters(BaseModel):
    """A built-in segment's thresholds; each built-in uses some of them (see its `parameters`)."""

    model_config = ConfigDict(extra="forbid")

    days: StrictInt | None = Field(default=None, ge=1, le=730, description="A period, in days.")
    orders_min: StrictInt | None = Field(default=None, ge=1, le=1000)
    spent_min: Amount | None = Field(
        default=None,
        description="Total spent, at least (0.01 to 10^9, at most 2 decimals; any currency).",
    )

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SegmentCreate(BaseModel):
    """A saved segment: a name unique in the store (case ignored) and a customer filter."""

    model_config = ConfigDict(extra="forbid")

    name: SegmentName
    filter: SegmentFilter = Field(
        default_factory=SegmentFilter,
        description="Who belongs: the filters of GET /customers, with absolute dates.",
    )


class SegmentPatch(BaseModel):
    """Saved segments: `name` and/or `filter` (a filter given replaces the whole filter).
    Built-in segments: `parameters` only."""

    model_config = ConfigDict(extra="forbid")

    name: SegmentName | None = None
    filter: SegmentFilter | None = None
    parameters: SegmentParameters | None = None

    @field_validator("name", "filter", "parameters", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value

    @model_validator(mode="after")
    def _something(self) -> SegmentPatch:
        if not self.model_fields_set:
            raise Refused("name", "give name, filter or parameters", "nothing_to_change")
        return self


class SegmentFieldError(BaseModel):
    field: str = Field(description="The filter field refused, e.g. `filter.q`.")
    reason: str


class SegmentProblem(BaseModel):
    """Why a segment has no count."""

    type: Literal["invalid-filter", "count-failed"] = Field(
        description=(
            "`invalid-filter`: saved before a rule that now refuses part of its filter; it"
            " cannot be counted, listed or acted on until PATCHed with a new filter (or deleted)."
            " `count-failed`: counting it failed this time; the others were counted."
        )
    )
    detail: str
    errors: list[SegmentFieldError] = Field(description="invalid-filter: each field refused.")


class Segment(BaseModel):
    """A segment: built-in (every store has them) or saved."""

    id: str = Field(description="A built-in segment's id is its key (`new`); a saved one's a ULID.")
    name: str
    kind: Literal["built_in", "saved"]
    description: str | None
    filter: CustomerFilterQuery = Field(
        description="Who belongs. A built-in segment's dates are computed from now."
    )
    parameters: SegmentParameters | None = Field(
        description="Built-in segments: the thresholds that define them (PATCH to change)."
    )
    count: int | None = Field(
        description=(
            "Customers in the segment now; null when not asked for. Counting reads what listing"
            " them all would read (a filter served by an index reads the index only)."
        )
    )
    problem: SegmentProblem | None = Field(
        description="Why `count` is null although asked for, or why the segment cannot run.",
    )
    created_at: datetime | None
    updated_at: datetime | None
    version: int = Field(
        description="Saved: the segment's version. Built-in: the version of the store's"
        " thresholds. Send it back in If-Match."
    )

    @classmethod
    def of(
        cls, segment: SegmentRecord, count: int | None = None, *, counted: bool = False
    ) -> Segment:
        """`counted`: counting was asked for, so a null count says it failed."""
        problem = None
        if segment.invalid:
            problem = SegmentProblem(
                type="invalid-filter",
                detail=INVALID_FILTER_DETAIL,
                errors=[SegmentFieldError(field=e.field, reason=e.reason) for e in segment.invalid],
            )
        elif counted and count is None:
            problem = SegmentProblem(
                type="count-failed",
                detail="This segment could not be counted now; try again",
                errors=[],
            )
        return cls(
            id=segment.id,
            name=segment.name,
            kind="built_in" if segment.built_in else "saved",
            description=segment.description,
            filter=segment.query,
            parameters=SegmentParameters(**segment.parameters) if segment.built_in else None,
            count=count,
            problem=problem,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
            version=segment.version,
        )


class SegmentList(BaseModel):
    """Built-in segments first (fixed order), then saved ones by name."""

    items: list[Segment]


class SegmentListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: bool = Field(
        default=True, description="Count each segment's customers (reads them: see `count`)."
    )


class SegmentGetQuery(SegmentListQuery):
    pass


class MembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200, description="Page size.")
    cursor: str | None = Field(default=None, max_length=4096, description="From `next_cursor`.")
    sort: Sort | None = Field(default=None, description="As GET /customers' `sort`.")


def filter_names(query: CustomerFilterQuery) -> list[str]:
    """The filters set (names only: values such as `q` may be personal data)."""
    return sorted(query.model_dump(exclude_none=True, exclude_defaults=True))
