"""What a customer filter means: the one definition of the filters of `GET /customers`.

The customers service checks every customer its indexes read against it (search, counts,
segments, bulk actions); automation checks its contacts read model against it (a flow's filter
and condition splits). Both hold their customer in their own shape: anything with the
attributes of `Filterable` is checked the same way. The text search `q` is the customers
service's own (its tokens are its search index): it adds that check on top
(`chalicelib.customers.search.rules.CustomerFilter`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator

# A customer seen in the last ACTIVE_DAYS days is active, inactive otherwise.
ACTIVE_DAYS = 90
_SPACES = re.compile(r"\s+")


def fold(value: str) -> str:
    """Lower case without accents: how filters and search compare text (`José` is `jose`)."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip()


def _utc(value: datetime) -> datetime:
    """A time without an offset is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def start_of(value: date | datetime | None) -> datetime | None:
    """A day as its first instant (UTC); a time as itself: the lower end of a date filter."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    return datetime.combine(value, time.min, UTC)


def end_of(value: date | datetime | None) -> datetime | None:
    """A day as its last instant (UTC); a time as itself: the upper end of a date filter."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    return datetime.combine(value, time.max, UTC)


def _day_or_time(value: Any) -> Any:
    """`2026-11-23` is a day; anything longer is a time (`2026-11-23T00:00:00Z` included)."""
    if isinstance(value, str) and len(value.strip()) == len("2026-11-23"):
        return date.fromisoformat(value.strip())
    if isinstance(value, str):
        return datetime.fromisoformat(value.strip())
    return value


# A date filter's value as given: a UTC day or a time.
When = Annotated[date | datetime, BeforeValidator(_day_or_time)]


def activity_status(last_seen_at: datetime | None, at: datetime) -> str:
    """Active when seen in the last ACTIVE_DAYS days before `at`, inactive otherwise."""
    if last_seen_at is not None and last_seen_at >= at - timedelta(days=ACTIVE_DAYS):
        return "active"
    return "inactive"


class _Consent(Protocol):
    @property
    def state(self) -> str: ...


class Filterable(Protocol):
    """What a filter reads of a customer."""

    @property
    def tags(self) -> Collection[str]: ...
    @property
    def favorite(self) -> bool: ...
    @property
    def email_consent(self) -> _Consent: ...
    @property
    def sms_consent(self) -> _Consent: ...
    @property
    def country(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime | None: ...
    @property
    def last_order_at(self) -> datetime | None: ...
    @property
    def orders_count(self) -> int: ...
    @property
    def total_spent(self) -> Decimal: ...
    @property
    def rating_average(self) -> Decimal | None: ...


_DAY_STARTS = ("created_from", "last_seen_from", "last_order_before", "last_order_after")
_DAY_ENDS = ("created_to", "last_seen_to")


@dataclass(frozen=True)
class CustomerFilter:
    """Every filter of GET /customers; unset ones do not filter."""

    q: str | None = None
    tags: tuple[str, ...] = ()
    tag_mode: str = "any"
    favorite: bool | None = None
    email_consent: str | None = None
    sms_consent: str | None = None
    country: str | None = None
    city: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    last_seen_from: datetime | None = None
    last_seen_to: datetime | None = None
    orders_min: int | None = None
    orders_max: int | None = None
    spent_min: Decimal | None = None
    spent_max: Decimal | None = None
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    never_ordered: bool | None = None
    rating_min: Decimal | None = None
    # Evaluated against this moment (status): set by whoever builds the filter.
    now: datetime | None = field(default=None, compare=False)

    @classmethod
    def of_parameters(cls, now: datetime, **given: Any) -> Any:
        """The filter the API's parameters of the same names give (GET /customers, a flow's
        filter): a day given to a lower bound or to `last_order_*` is its first instant, a day
        given to an upper bound its last."""
        for name in _DAY_STARTS:
            if name in given:
                given[name] = start_of(given[name])
        for name in _DAY_ENDS:
            if name in given:
                given[name] = end_of(given[name])
        return cls(now=now, **given)

    def given(self) -> dict[str, Any]:
        """The filters that are set, by name (the list's query parameters)."""
        unset: dict[str, Any] = {"tags": (), "tag_mode": "any"}
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "now" and getattr(self, f.name) not in (None, unset.get(f.name))
        }

    def active_cutoff(self) -> datetime:
        assert self.now is not None, "status filters need `now`"
        return self.now - timedelta(days=ACTIVE_DAYS)

    def matches(self, customer: Filterable) -> bool:
        """Every filter but `q` (the customers service's text search adds it)."""
        return all(check(self, customer) for check in _CHECKS)


def _in_range(value: Any, low: Any, high: Any) -> bool:
    if low is not None and (value is None or value < low):
        return False
    return not (high is not None and (value is None or value > high))


def _tags(f: CustomerFilter, c: Filterable) -> bool:
    if not f.tags:
        return True
    have = set(c.tags)
    return set(f.tags) <= have if f.tag_mode == "all" else bool(have & set(f.tags))


def _facets(f: CustomerFilter, c: Filterable) -> bool:
    return (
        (f.favorite is None or c.favorite == f.favorite)
        and (f.email_consent is None or c.email_consent.state == f.email_consent)
        and (f.sms_consent is None or c.sms_consent.state == f.sms_consent)
        and (f.country is None or c.country == f.country)
        and (f.city is None or (c.city is not None and fold(c.city) == fold(f.city)))
    )


def _status(f: CustomerFilter, c: Filterable) -> bool:
    if f.status is None:
        return True
    assert f.now is not None, "status filters need `now`"
    return activity_status(c.last_seen_at, f.now) == f.status


def _dates(f: CustomerFilter, c: Filterable) -> bool:
    return (
        _in_range(c.created_at, f.created_from, f.created_to)
        and _in_range(c.last_seen_at, f.last_seen_from, f.last_seen_to)
        and (f.last_order_after is None or _in_range(c.last_order_at, f.last_order_after, None))
        # "No order since": the last order (if any) came before the date; never ordered counts.
        and (
            f.last_order_before is None
            or c.last_order_at is None
            or c.last_order_at < f.last_order_before
        )
    )


def _orders(f: CustomerFilter, c: Filterable) -> bool:
    rating = c.rating_average
    return (
        _in_range(c.orders_count, f.orders_min, f.orders_max)
        and _in_range(c.total_spent, f.spent_min, f.spent_max)
        and (f.never_ordered is None or (c.orders_count == 0) == f.never_ordered)
        and (f.rating_min is None or (rating is not None and rating >= f.rating_min))
    )


_CHECKS = (_tags, _facets, _status, _dates, _orders)

# Every service that takes a filter names its parts from these, so a part added to
# `CustomerFilter` reaches all of them. SAME_NAMED: the parts an API parameter of the same name
# gives (`tags` is given by `tag`).
SAME_NAMED = tuple(f.name for f in fields(CustomerFilter) if f.name not in ("now", "tags"))
# The query parameters of GET /customers that filter.
PARAMETERS = frozenset(("tag", *SAME_NAMED))
# Ranges whose low end must not be after their high end.
RANGES = (
    ("created_from", "created_to"),
    ("last_seen_from", "last_seen_to"),
    ("orders_min", "orders_max"),
    ("spent_min", "spent_max"),
)
