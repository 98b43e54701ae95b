"""Segments as pure rules: the built-in ones every store has, saved ones, and who belongs where.

A segment is a name and a customer filter (the fields of GET /customers). Built-in segments are
defined by per-store thresholds relative to now (`Thresholds`); saved segments hold a filter
with absolute dates. Membership is `CustomerFilter.matches`, the one definition of a filter.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from chalicelib.customers.profiles.models import SegmentRef
from chalicelib.customers.profiles.rules import Customer, clean_text
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.search.rules import CustomerFilter
from clientela.problems import FieldError

MAX_NAME_LENGTH = 100
MAX_SAVED_SEGMENTS = 100


class SegmentError(Exception):
    """A rule about segments refused a request."""


class SegmentNotFound(SegmentError):
    pass


class SegmentNameTaken(SegmentError):
    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


class BuiltInSegment(SegmentError):
    """Built-in segments cannot be deleted, renamed or refiltered (only their parameters)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


class TooManySegments(SegmentError):
    pass


class SegmentChanged(SegmentError):
    """If-Match named another version than the stored one."""

    def __init__(self, current_version: int) -> None:
        super().__init__(current_version)
        self.current_version = current_version


class SegmentFilterInvalid(SegmentError):
    """A segment saved under older rules holds a filter they now refuse: it cannot run."""

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__([e.field for e in errors])
        self.errors = errors


class InvalidParameter(SegmentError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Thresholds:
    """What the built-in segments mean in one store (defaults: a typical online store)."""

    new_days: int = 30
    active_days: int = 90
    top_spent_min: Decimal = Decimal(1000)
    at_risk_orders_min: int = 2
    at_risk_days: int = 90

    def as_map(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def of(cls, values: dict[str, Any] | None) -> Thresholds:
        """From a stored map; unknown or missing entries fall back to the defaults."""
        given = values or {}
        defaults = cls()
        return cls(
            new_days=int(given.get("new_days", defaults.new_days)),
            active_days=int(given.get("active_days", defaults.active_days)),
            top_spent_min=Decimal(str(given.get("top_spent_min", defaults.top_spent_min))),
            at_risk_orders_min=int(given.get("at_risk_orders_min", defaults.at_risk_orders_min)),
            at_risk_days=int(given.get("at_risk_days", defaults.at_risk_days)),
        )


@dataclass(frozen=True)
class Parameter:
    """One threshold as a built-in segment's API shows it (`days`, `spent_min`, ...)."""

    name: str
    threshold: str
    low: Decimal
    high: Decimal
    whole: bool = True


@dataclass(frozen=True)
class BuiltIn:
    id: str
    name: str
    description: str
    parameters: tuple[Parameter, ...]
    query: Callable[[Thresholds, datetime], dict[str, Any]]


def _days(threshold: str, high: int) -> Parameter:
    return Parameter("days", threshold, Decimal(1), Decimal(high))


BUILT_INS: tuple[BuiltIn, ...] = (
    BuiltIn(
        "new",
        "New customers",
        "Signed up in the last `days` days.",
        (_days("new_days", 365),),
        lambda t, now: {"created_from": now - timedelta(days=t.new_days)},
    ),
    BuiltIn(
        "active_buyers",
        "Active buyers",
        "Ordered in the last `days` days.",
        (_days("active_days", 730),),
        lambda t, now: {"last_order_after": now - timedelta(days=t.active_days)},
    ),
    BuiltIn(
        "top_spenders",
        "Top spenders",
        "Spent at least `spent_min` in total.",
        (Parameter("spent_min", "top_spent_min", Decimal("0.01"), Decimal(10**9), whole=False),),
        lambda t, _now: {"spent_min": t.top_spent_min},
    ),
    BuiltIn(
        "at_risk",
        "At risk",
        "At least `orders_min` orders, but none in the last `days` days.",
        (
            Parameter("orders_min", "at_risk_orders_min", Decimal(1), Decimal(1000)),
            _days("at_risk_days", 730),
        ),
        lambda t, now: {
            "orders_min": t.at_risk_orders_min,
            "last_order_before": now - timedelta(days=t.at_risk_days),
        },
    ),
    BuiltIn(
        "never_purchased",
        "Never purchased",
        "No order yet.",
        (),
        lambda _t, _now: {"never_ordered": True},
    ),
    BuiltIn(
        "email_subscribers",
        "E-mail subscribers",
        "Subscribed to marketing e-mail.",
        (),
        lambda _t, _now: {"email_consent": "subscribed"},
    ),
)
BUILT_IN_IDS = {b.id: b for b in BUILT_INS}


@dataclass(frozen=True)
class Segment:
    """A built-in or saved segment. `query` is its filter; built-ins' are as of a moment."""

    id: str
    name: str
    query: CustomerFilterQuery
    built_in: bool = False
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    # The stored filter's fields the rules refuse (a segment saved before them); `query` then
    # holds the rest, for showing only: the segment is never counted, listed or acted on.
    invalid: tuple[FieldError, ...] = ()

    def filter(self, now: datetime) -> CustomerFilter:
        """Who belongs, as of `now`. Raises SegmentFilterInvalid for a filter that cannot run."""
        if self.invalid:
            raise SegmentFilterInvalid(self.invalid)
        return self.query.to_filter(now)

    def ref(self) -> SegmentRef:
        return SegmentRef(id=self.id, name=self.name)


def built_in_segment(
    built_in: BuiltIn, thresholds: Thresholds, now: datetime, version: int
) -> Segment:
    return Segment(
        id=built_in.id,
        name=built_in.name,
        query=CustomerFilterQuery.model_validate(built_in.query(thresholds, now)),
        built_in=True,
        description=built_in.description,
        parameters={p.name: getattr(thresholds, p.threshold) for p in built_in.parameters},
        version=version,
    )


def built_in_segments(thresholds: Thresholds, now: datetime, version: int = 0) -> list[Segment]:
    """Every store's built-in segments, evaluated at `now`, in their fixed order."""
    return [built_in_segment(b, thresholds, now, version) for b in BUILT_INS]


def with_parameters(thresholds: Thresholds, segment_id: str, given: dict[str, Any]) -> Thresholds:
    """The thresholds after changing a built-in segment's parameters (bounds checked)."""
    built_in = BUILT_IN_IDS[segment_id]
    own = {p.name: p for p in built_in.parameters}
    changes: dict[str, Any] = {}
    for name, value in given.items():
        parameter = own.get(name)
        where = f"parameters.{name}"
        if parameter is None:
            allowed = ", ".join(own) or "none"
            raise InvalidParameter(where, f"not a parameter of {segment_id} (it has: {allowed})")
        number = Decimal(str(value))
        if not number.is_finite() or not parameter.low <= number <= parameter.high:
            raise InvalidParameter(where, f"must be between {parameter.low} and {parameter.high}")
        if parameter.whole and number != number.to_integral_value():
            raise InvalidParameter(where, "must be a whole number")
        if not parameter.whole and number.as_tuple().exponent < -2:  # type: ignore[operator]
            raise InvalidParameter(where, "at most 2 decimal places")
        changes[parameter.threshold] = int(number) if parameter.whole else number
    return replace(thresholds, **changes)


def clean_name(value: str) -> str:
    """A segment name: 1-100 characters of trimmed, NFC text without control characters."""
    return clean_text(value, max_length=MAX_NAME_LENGTH)


def name_key(name: str) -> str:
    """What makes two names the same: case ignored (accents kept)."""
    return unicodedata.normalize("NFC", name).casefold()


def built_in_named(name: str) -> str | None:
    """The id of the built-in segment with this name (case ignored), if any."""
    key = name_key(name)
    return next((b.id for b in BUILT_INS if name_key(b.name) == key), None)


def memberships(customer: Customer, segments: list[Segment], now: datetime) -> list[SegmentRef]:
    """The segments the customer belongs to, in the order given (one whose filter cannot run
    has no members)."""
    return [s.ref() for s in segments if not s.invalid and s.filter(now).matches(customer)]


def membership_changes(
    old: Customer | None, new: Customer | None, segments: list[Segment], now: datetime
) -> list[tuple[str, Literal["entered", "exited"]]]:
    """(segment id, `entered` / `exited`) for each segment a change moved the customer into or
    out of. Both sides are judged at the same `now`, so a membership that only time changes
    (a built-in's "in the last N days") moves nothing here: only the change does. A segment
    whose filter cannot run has no members, so it is never entered."""
    changes: list[tuple[str, Literal["entered", "exited"]]] = []
    for segment in segments:
        if segment.invalid:
            continue
        flt = segment.filter(now)
        was = old is not None and flt.matches(old)
        is_now = new is not None and flt.matches(new)
        if is_now != was:
            changes.append((segment.id, "entered" if is_now else "exited"))
    return changes
