"""A customer's timeline: what happened to and around a customer, newest first. No AWS here.

An entry's id derives from its cause (an event id, a stream record id, a client's activity id),
so the same cause always yields the same entry and a redelivery rewrites it rather than adding
one. Entries carry small, non-secret data: a profile change names the fields that changed, not
their values (except non-personal ones such as the country).

Product views are kept for a bounded time (`PRODUCT_VIEW_RETENTION`, 90 days): each one carries
`expires_at`, the table's TTL attribute, and DynamoDB deletes it some time after. Listings skip
expired entries that are still stored. Everything else stays as long as the customer does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chalicelib.customers.profiles import rules as domain
from clientela import money

PRODUCT_VIEW_RETENTION = timedelta(days=90)
# Profile fields whose changes show as `profile_changed` (tags have an entry kind of their own;
# engagement counters are synced by the store's app, not changes anyone made).
PROFILE_FIELDS = tuple(f for f in domain.PROFILE_FIELDS if f not in ("tags", "engagement"))
# Fields whose old and new values an entry may show: they do not identify anybody.
NON_PERSONAL_FIELDS = frozenset({"country", "language"})
CONSENT_CHANNELS = ("email", "sms")
NO_CONSENT = "never_asked"  # the state of a channel without a consent record
# Entry data that is money, in the entry's `currency` (orders, refunds, credits, prices).
MONEY_FIELDS = ("total", "amount", "price", "balance_after", "reexpired")
# Fixed: the same cause must map to the same entry id forever.
_ENTRY_NAMESPACE = uuid.UUID("9c2b7d1e-4f3a-5b6c-8d7e-0a1b2c3d4e5f")


class Kind(StrEnum):
    PRODUCT_VIEWED = "product_viewed"
    ADDED_TO_CART = "added_to_cart"
    REMOVED_FROM_CART = "removed_from_cart"
    PURCHASED = "purchased"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    REVIEW_POSTED = "review_posted"
    EMAIL_SENT = "email_sent"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    MESSAGE_SENT = "message_sent"
    MESSAGE_REPLIED = "message_replied"
    CONSENT_CHANGED = "consent_changed"
    PROFILE_CHANGED = "profile_changed"
    TAGS_CHANGED = "tags_changed"
    CREDIT_GRANTED = "credit_granted"
    CREDIT_SPENT = "credit_spent"
    CREDIT_EXPIRED = "credit_expired"
    CREDIT_REVERTED = "credit_reverted"
    CREDIT_ADJUSTED = "credit_adjusted"


@dataclass(frozen=True)
class Seen:
    """When and from where a customer was last active, each field with its own moment.

    A storefront does not send the device or the address with every item: each field keeps the
    latest value known (`device_at`, `ip_at`: when it was seen, `at` when None), so an item
    without them never erases them and an older one never overwrites a newer one.
    """

    at: datetime
    device: str | None = None
    ip: str | None = None
    device_at: datetime | None = None
    ip_at: datetime | None = None


def latest_seen(seen: Iterable[Seen]) -> Seen | None:
    """The latest moment of all, and per field the latest value known (None: nothing given)."""
    moments = list(seen)
    if not moments:
        return None
    device_at, device = _latest((s.device_at or s.at, s.device) for s in moments if s.device)
    ip_at, ip = _latest((s.ip_at or s.at, s.ip) for s in moments if s.ip)
    return Seen(max(s.at for s in moments), device, ip, device_at, ip_at)


def _latest(known: Iterable[tuple[datetime, str]]) -> tuple[datetime | None, str | None]:
    return max(known, key=lambda pair: pair[0], default=(None, None))


# Kinds that expire by themselves, and after how long.
RETENTION: dict[Kind, timedelta] = {Kind.PRODUCT_VIEWED: PRODUCT_VIEW_RETENTION}


@dataclass(frozen=True)
class TimelineEntry:
    entry_id: str
    kind: Kind
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    expires_at: int | None = None  # epoch seconds (the table's TTL attribute)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now.timestamp()


@dataclass(frozen=True)
class ProductActivity:
    """A shopper looked at a product, or put it in or took it out of the cart."""

    kind: Kind
    at: datetime
    product_id: str
    sku: str | None = None
    name: str | None = None
    brand: str | None = None
    category: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    device: str | None = None


ACTIVITY_KINDS = (Kind.PRODUCT_VIEWED, Kind.ADDED_TO_CART, Kind.REMOVED_FROM_CART)


def cart_kind(quantity: int) -> Kind:
    """A cart update with quantity 0 took the product out; any other put it (back) in."""
    return Kind.REMOVED_FROM_CART if quantity == 0 else Kind.ADDED_TO_CART


def entry_id(cause: str) -> str:
    """The id of the entry a cause (`event/<id>`, `stream/<record id>/<part>`, ...) yields."""
    return str(uuid.uuid5(_ENTRY_NAMESPACE, cause))


def new_entry(cause: str, kind: Kind, at: datetime, data: Mapping[str, Any]) -> TimelineEntry:
    """An entry with its id from the cause and, for kinds kept for a bounded time, its expiry."""
    at = at.astimezone(UTC)
    retention = RETENTION.get(kind)
    # Whole seconds added to the epoch: no date arithmetic to overflow near year 9999.
    expires_at = int(at.timestamp() + retention.total_seconds()) if retention else None
    clean = {name: _plain(value) for name, value in with_money_text(data).items()}
    return TimelineEntry(entry_id(cause), kind, at, clean, expires_at)


def with_money_text(data: Mapping[str, Any]) -> dict[str, Any]:
    """The data with its amounts as money strings in its currency ("1250" JPY, "10.50" BRL).

    Also what reading gives entries stored with numbers, which lost their trailing zeros.
    """
    currency = data.get("currency")
    known = currency if isinstance(currency, str) and currency in money.MINOR_UNITS else None
    return {
        name: (
            money.text(Decimal(value), known)
            if name in MONEY_FIELDS and _is_number(value)
            else value
        )
        for name, value in data.items()
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def compact(**values: Any) -> dict[str, Any]:
    """Entry data without the values that are absent."""
    return {name: value for name, value in values.items() if value is not None}


def _plain(value: Any) -> Any:
    """Decimals as exact strings: a stored number would lose "10.50"'s zero."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def link_without_query(url: str) -> str:
    """A link as a timeline shows it: query and fragment dropped (they often carry tokens)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _tags(item: Mapping[str, Any]) -> set[str]:
    tags = item.get("tags") or ()
    if isinstance(tags, str):
        return {tags}
    return {str(tag) for tag in tags} if isinstance(tags, Iterable) else set()


def _consent(item: Mapping[str, Any], channel: str) -> Mapping[str, Any]:
    consent = item.get(f"{channel}_consent")
    return consent if isinstance(consent, Mapping) else {}


def _profile_entry(
    old: Mapping[str, Any], new: Mapping[str, Any], cause: str, at: datetime
) -> TimelineEntry | None:
    changed = [name for name in PROFILE_FIELDS if old.get(name) != new.get(name)]
    if not changed:
        return None
    data: dict[str, Any] = {"fields": changed}
    values = {
        name: {"old": old.get(name), "new": new.get(name)}
        for name in changed
        if name in NON_PERSONAL_FIELDS
    }
    if values:
        data["values"] = values
    return new_entry(f"{cause}/{Kind.PROFILE_CHANGED}", Kind.PROFILE_CHANGED, at, data)


def _tags_entry(
    old: Mapping[str, Any], new: Mapping[str, Any], cause: str, at: datetime
) -> TimelineEntry | None:
    before, after = _tags(old), _tags(new)
    if before == after:
        return None
    data = {"added": sorted(after - before), "removed": sorted(before - after)}
    return new_entry(f"{cause}/{Kind.TAGS_CHANGED}", Kind.TAGS_CHANGED, at, data)


def _consent_entries(
    old: Mapping[str, Any], new: Mapping[str, Any], cause: str, at: datetime
) -> list[TimelineEntry]:
    entries = []
    for channel in CONSENT_CHANNELS:
        before, after = _consent(old, channel), _consent(new, channel)
        old_state = before.get("state") or NO_CONSENT
        new_state = after.get("state") or NO_CONSENT
        if old_state == new_state and before.get("opt_in_level") == after.get("opt_in_level"):
            continue
        data = {
            "channel": channel,
            "old_state": old_state,
            "new_state": new_state,
            "opt_in_level": after.get("opt_in_level"),
            "source": after.get("source"),
        }
        when = _time(after.get("updated_at")) or at
        cause_of = f"{cause}/{Kind.CONSENT_CHANGED}/{channel}"
        entries.append(new_entry(cause_of, Kind.CONSENT_CHANGED, when, data))
    return entries


def entries_for_change(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    cause_id: str,
    *,
    at: datetime | None = None,
) -> list[TimelineEntry]:
    """The entries one change of a customer item (plain old and new images) stands for.

    A new customer gets entries only for consent set from the start (not `never_asked`); a
    deleted one, none (its timeline goes with it). Changes of other attributes (order
    aggregates, last seen) yield nothing. `at` is the change's time when the new image carries
    no `updated_at`.
    """
    if new is None:
        return []
    when = _time(new.get("updated_at")) or at or datetime.now(UTC)
    if old is None:
        return _consent_entries({}, new, cause_id, when)
    entries = [
        _profile_entry(old, new, cause_id, when),
        _tags_entry(old, new, cause_id, when),
        *_consent_entries(old, new, cause_id, when),
    ]
    return [entry for entry in entries if entry is not None]


def activity_entry(cause: str, activity: ProductActivity) -> TimelineEntry:
    """The entry of a product view or cart change (no network address: that stays private)."""
    data = compact(
        product_id=activity.product_id,
        sku=activity.sku,
        name=activity.name,
        brand=activity.brand,
        category=activity.category,
        price=activity.price,
        currency=activity.currency,
        quantity=activity.quantity,
        device=activity.device,
    )
    return new_entry(cause, activity.kind, activity.at, data)


def is_expired(kind: Kind, at: datetime, now: datetime) -> bool:
    """Whether an entry of this kind and time is already past its retention."""
    retention = RETENTION.get(kind)
    return retention is not None and at + retention <= now
