"""What a customer filter means, as pure rules: the list, counts, segments and bulk actions.

`CustomerFilter.matches` is the one definition of every filter. Indexes only narrow what is
read (chalicelib.customers.search); every customer read is still checked here, so an index can
never make a filter mean something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.customers.domain import ACTIVE_DAYS, Customer, fold

MAX_TOKEN_LENGTH = 100
_PHONE_QUERY = re.compile(r"\+?[0-9][0-9 ().-]*")


def name_key(customer: Customer) -> str:
    """How the name sort orders customers: folded "first last"; nameless ones last, by e-mail."""
    name = fold(customer.display_name)
    if name:
        return name[:MAX_TOKEN_LENGTH]
    return "\uffff" + (customer.email or customer.phone or "")[:MAX_TOKEN_LENGTH]


def initials(customer: Customer) -> str:
    parts = fold(customer.display_name).split()
    return "".join(part[0] for part in parts if part)


def search_tokens(customer: Customer) -> set[str]:
    """The texts `q` matches by prefix: full name, last name first, initials, e-mail, phone."""
    tokens = set()
    name = fold(customer.display_name)
    if name:
        tokens.add(name)
        words = name.split()
        if len(words) > 1:
            tokens.add(" ".join([*words[1:], words[0]]))
            tokens.add(initials(customer))
    if customer.email:
        tokens.add(customer.email)
    if customer.phone:
        tokens.add(customer.phone.removeprefix("+"))  # digits: `+55 11` and `5511` both match
    return {token[:MAX_TOKEN_LENGTH] for token in tokens}


def query_prefix(q: str) -> str:
    """`q` as the prefix the tokens are compared with: folded text, or a phone's digits."""
    text = q.strip()
    if _PHONE_QUERY.fullmatch(text) and sum(c.isdigit() for c in text) >= 3:
        return "".join(c for c in text if c.isdigit())
    return fold(text)[:MAX_TOKEN_LENGTH]


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

    def matches(self, customer: Customer) -> bool:
        return all(check(self, customer) for check in _CHECKS)


def _in_range(value: Any, low: Any, high: Any) -> bool:
    if low is not None and (value is None or value < low):
        return False
    return not (high is not None and (value is None or value > high))


def _q(f: CustomerFilter, c: Customer) -> bool:
    if not f.q:
        return True
    prefix = query_prefix(f.q)
    return any(token.startswith(prefix) for token in search_tokens(c))


def _tags(f: CustomerFilter, c: Customer) -> bool:
    if not f.tags:
        return True
    have = set(c.tags)
    return set(f.tags) <= have if f.tag_mode == "all" else bool(have & set(f.tags))


def _facets(f: CustomerFilter, c: Customer) -> bool:
    return (
        (f.favorite is None or c.favorite == f.favorite)
        and (f.email_consent is None or c.email_consent.state == f.email_consent)
        and (f.sms_consent is None or c.sms_consent.state == f.sms_consent)
        and (f.country is None or c.country == f.country)
        and (f.city is None or (c.city is not None and fold(c.city) == fold(f.city)))
    )


def _status(f: CustomerFilter, c: Customer) -> bool:
    if f.status is None:
        return True
    assert f.now is not None, "status filters need `now`"
    return c.status(f.now) == f.status


def _dates(f: CustomerFilter, c: Customer) -> bool:
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


def _orders(f: CustomerFilter, c: Customer) -> bool:
    rating = c.rating_average
    return (
        _in_range(c.orders_count, f.orders_min, f.orders_max)
        and _in_range(c.total_spent, f.spent_min, f.spent_max)
        and (f.never_ordered is None or (c.orders_count == 0) == f.never_ordered)
        and (f.rating_min is None or (rating is not None and rating >= f.rating_min))
    )


_CHECKS = (_q, _tags, _facets, _status, _dates, _orders)
