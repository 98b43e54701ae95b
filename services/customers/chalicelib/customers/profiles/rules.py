"""Customer rules that need no AWS: normalising contact data, applying changes, comparing."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from chalicelib.customers.errors import ContactRequired, InvalidField
from clientela import money, numbers
from clientela.customer_filter import activity_status

MAX_TAGS = 40
# Tags added plus tags removed in one change: each is two writes (membership and count) of the
# one transaction that changes the customer, and a transaction holds at most 100 writes.
MAX_TAG_CHANGES = 40
MAX_TAG_LENGTH = 40
MAX_NAME_LENGTH = 100
MAX_NOTES_LENGTH = 5000
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_LENGTH = 500
GENDERS = ("female", "male", "non_binary", "other", "undisclosed")
SOCIAL_NETWORKS = ("facebook", "twitter", "google")
ENGAGEMENT_COUNTERS = ("loyalty_stamps", "comments", "shares", "push_notifications_received")
CONSENT_CHANNELS = ("email", "sms")
CONSENT_STATES = ("subscribed", "unsubscribed", "pending", "never_asked")
OPT_IN_LEVELS = ("single", "confirmed")
CONSENT_SOURCES = (
    "admin",
    "import",
    "signup",
    "checkout",
    "unsubscribe_link",
    "double_opt_in",
    "api",
    "bulk_action",
    "merge",
)
# A customer seen (any storefront activity) in this many days is active, otherwise inactive.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_ATTRIBUTE_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
# What POST and PATCH may set. Everything else a profile shows is read-only there.
PROFILE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "region",
    "country",
    "gender",
    "birthday",
    "language",
    "tags",
    "favorite",
    "notes",
    "attributes",
    "social",
    "engagement",
    "photo_url",
)
# A social login's picture: shown as given, so only https and a bounded length are accepted.
MAX_PHOTO_URL_LENGTH = 2048


# A store's shards (README "Data model"): one shard takes about 60 sign-ups a second on its
# search partition; a store's peak is taken as growing with its size, a 10 M-customer store's
# Black Friday being 1,000 sign-ups a second (16 shards). So one shard per 625,000 customers,
# in powers of two, up to MAX_SHARDS: a page reads one Query per shard, so no more than needed.
CUSTOMERS_PER_SHARD = 625_000
MAX_SHARDS = 64


def shards_for(customers: int) -> int:
    """How many shards a store of this many customers is spread over (1 for most stores)."""
    needed = max(1, -(-customers // CUSTOMERS_PER_SHARD))
    return min(MAX_SHARDS, 1 << (needed - 1).bit_length())


def growth_check_due(before: int, after: int) -> bool:
    """Whether a shard's customer counter, going from `before` to `after`, crossed a step (a
    quarter of a shard's share) at which the store's size is worth reading again: a store is
    counted a few times per shard's share, never on every write."""
    step = max(CUSTOMERS_PER_SHARD // 4, 1)
    return after > before and after // step > before // step


def now() -> datetime:
    return datetime.now(UTC)


def clean_text(value: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Trimmed, NFC-normalised text in any script; control characters refused."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if _CONTROL.search(value.replace("\n", " ").replace("\t", " ")):
        raise ValueError("must not contain control characters")
    if not text:
        raise ValueError("must not be blank")
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return text


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased so one mailbox is one customer."""
    # Imported here: it compiles its grammar on import (a tenth of a cold start), and most
    # functions that load these rules never read an address (root README, "Cold start").
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


# phonenumbers loads with the first phone or country checked, not with this module: the
# functions that never check one (the stream consumers) do not pay for it while they start
# (root README, "Cold start").
@functools.cache
def countries() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes a profile's country may take (phonenumbers' regions)."""
    import phonenumbers  # noqa: PLC0415

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def normalise_phone(value: str, country: str | None) -> str:
    """E.164. Numbers without a country code are read as numbers of the customer's country."""
    import phonenumbers  # noqa: PLC0415

    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            "is not a phone number (give it in international form, e.g. +5511987654321)"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_country(value: str) -> str:
    code = value.strip().upper()
    if code not in countries():
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. BR")
    return code


def normalise_language(value: str) -> str:
    """A BCP 47 language tag of the common shape: `pt`, `pt-BR`."""
    parts = value.strip().replace("_", "-").split("-")
    tag = parts[0].lower() + ("-" + parts[1].upper() if len(parts) > 1 else "")
    if len(parts) > 2 or not _LANGUAGE.fullmatch(tag):
        raise ValueError("must be a language tag such as pt or pt-BR")
    return tag


def normalise_photo_url(value: str) -> str:
    """An https URL of a picture (a social login's): absolute, no credentials, no spaces."""
    url = value.strip()
    if len(url) > MAX_PHOTO_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_PHOTO_URL_LENGTH} characters")
    if _CONTROL.search(url) or any(c.isspace() for c in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    return url


def check_birthday(value: date) -> date:
    if not date(1900, 1, 1) <= value <= now().date():
        raise ValueError("must be a date between 1900-01-01 and today")
    return value


def normalise_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Custom attributes: at most 50, snake_case keys, text, whole or decimal numbers, booleans."""
    if len(values) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if not _ATTRIBUTE_KEY.fullmatch(key):
            raise ValueError("keys are 1-40 characters of a-z, 0-9 and _, starting with a letter")
        if value is None or isinstance(value, bool):  # None: a patch removing the key
            cleaned[key] = value
        elif isinstance(value, int | float | Decimal):
            cleaned[key] = numbers.exact(value)
        elif isinstance(value, str):
            cleaned[key] = clean_text(value, max_length=MAX_ATTRIBUTE_LENGTH)
        else:
            raise ValueError("values are text, numbers or booleans")
    return cleaned


def normalise_tags(values: list[str]) -> list[str]:
    """Tags compare without case or surrounding space; kept sorted and unique."""
    tags = set()
    for value in values:
        tag = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip().lower()
        if not tag:
            raise ValueError("tags must not be blank")
        if len(tag) > MAX_TAG_LENGTH or _CONTROL.search(tag) or "," in tag:
            raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters and no commas")
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return sorted(tags)


@dataclass(frozen=True)
class Consent:
    """Consent to marketing on one channel, as a record: what, how firmly, when, from where."""

    state: str = "never_asked"
    opt_in_level: str | None = None
    updated_at: datetime | None = None
    source: str | None = None

    @property
    def restrictiveness(self) -> int:
        """Higher is more restrictive: merging keeps the most restrictive record."""
        return ("subscribed", "pending", "never_asked", "unsubscribed").index(self.state)


@dataclass(frozen=True)
class Photo:
    """A photo the store uploaded: verified as an image, kept in the service's bucket.

    Its id is the id of the upload it came from, so confirming the same upload twice is
    recognised as the same photo.
    """

    id: str
    key: str
    content_type: str
    width: int
    height: int
    size: int
    updated_at: datetime


@dataclass(frozen=True)
class Customer:
    id: str
    store_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    # Profile: what POST and PATCH set (PROFILE_FIELDS).
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    gender: str | None = None
    birthday: date | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    favorite: bool = False
    notes: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    social: dict[str, str] = field(default_factory=dict)
    engagement: dict[str, int] = field(default_factory=dict)
    photo_url: str | None = None
    # The uploaded photo: changed only by photo operations (photo_usecases). Shown rather than
    # `photo_url` when both exist.
    photo: Photo | None = None
    # Consent: changed only by consent operations (set_consent).
    email_consent: Consent = field(default_factory=Consent)
    sms_consent: Consent = field(default_factory=Consent)
    # System data, from storefront activity.
    last_seen_at: datetime | None = None
    last_ip: str | None = None
    last_device: str | None = None
    # Order and review aggregates, kept by the orders code (order_store).
    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    # The currency of the customer's orders (of the first one counted), which gives
    # `total_spent` and the average their scale; None before any order.
    currency: str | None = None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    rating_count: int = 0
    rating_sum: Decimal = Decimal(0)
    # The store shard its list entries are written to (keys.shard_of): chosen by the store when
    # the customer is first written, then kept.
    shard: int = 0

    def profile(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROFILE_FIELDS}

    def consent(self, channel: str) -> Consent:
        return self.email_consent if channel == "email" else self.sms_consent

    @property
    def signed_up_at(self) -> datetime:
        return self.created_at

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.orders_count:
            return None
        if self.currency is None:  # orders recorded before their currency was kept
            return (self.total_spent / self.orders_count).quantize(Decimal("0.01"))
        return money.average(self.total_spent, self.orders_count, self.currency)

    @property
    def rating_average(self) -> Decimal | None:
        if not self.rating_count:
            return None
        return (self.rating_sum / self.rating_count).quantize(Decimal("0.01"))

    def status(self, at: datetime) -> str:
        """Active when seen in the last ACTIVE_DAYS days, inactive otherwise."""
        return activity_status(self.last_seen_at, at)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def _phone_in(changes: dict[str, Any], country: str | None) -> dict[str, Any]:
    """Changes with the phone in E.164, read as a number of the customer's country if national."""
    phone = changes.get("phone")
    if phone is None:
        return changes
    try:
        return {**changes, "phone": normalise_phone(phone, country)}
    except ValueError as exc:
        raise InvalidField("phone", str(exc)) from None


def new_customer(
    store_id: str,
    customer_id: str,
    profile: dict[str, Any],
    consents: dict[str, Consent] | None = None,
) -> Customer:
    if not profile.get("email") and not profile.get("phone"):
        raise ContactRequired
    profile = _phone_in(profile, profile.get("country"))
    values = {name: value for name, value in profile.items() if value is not None}
    if "attributes" in values:
        values["attributes"] = {k: v for k, v in values["attributes"].items() if v is not None}
    _check_tag_changes([], values.get("tags", []))
    at = now()
    customer = Customer(
        id=customer_id, store_id=store_id, created_at=at, updated_at=at, version=1, **values
    )
    for channel, consent in (consents or {}).items():
        customer = with_consent(customer, channel, replace(consent, updated_at=at))
    return customer


def with_consent(customer: Customer, channel: str, consent: Consent) -> Customer:
    """The customer with a new consent record on a channel; the channel needs its contact."""
    contact = customer.email if channel == "email" else customer.phone
    if consent.state in ("subscribed", "pending") and not contact:
        raise InvalidField(
            f"{channel}_consent",
            f"subscribing needs the customer's {channel.replace('sms', 'phone')}",
        )
    if consent.state != "subscribed" and consent.opt_in_level is not None:
        consent = replace(consent, opt_in_level=None)
    record: dict[str, Any] = {f"{channel}_consent": consent}
    return replace(customer, **record)


def set_consent(customer: Customer, channel: str, consent: Consent) -> Customer:
    """A consent operation: a new record (stamped now) unless it says what the current one says."""
    current = customer.consent(channel)
    same = (current.state, current.opt_in_level, current.source) == (
        consent.state,
        consent.opt_in_level if consent.state == "subscribed" else None,
        consent.source,
    )
    if same:
        return customer
    at = now()
    changed = with_consent(customer, channel, replace(consent, updated_at=at))
    return replace(changed, updated_at=at, version=customer.version + 1)


_EMPTY: dict[str, Any] = {
    "tags": [],
    "favorite": False,
    "attributes": {},
    "social": {},
    "engagement": {},
}


def tag_changes(old: list[str], new: list[str]) -> tuple[set[str], set[str]]:
    """(added, removed)."""
    return set(new) - set(old), set(old) - set(new)


def tags_changed(tags: list[str], add: list[str], remove: list[str]) -> list[str]:
    """The tags after adding and removing some (normalised; a tag both added and removed ends
    removed). Raises ValueError for a tag that is not one or a result over MAX_TAGS."""
    result = (set(tags) | set(normalise_tags(add))) - set(normalise_tags(remove))
    if len(result) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return sorted(result)


def _check_tag_changes(old: list[str], new: list[str]) -> None:
    added, removed = tag_changes(old, new)
    if len(added) + len(removed) > MAX_TAG_CHANGES:
        raise InvalidField("tags", f"add and remove at most {MAX_TAG_CHANGES} tags in one change")


def apply_changes(customer: Customer, changes: dict[str, Any]) -> Customer:
    """The customer after a merge-patch: a field set to null is cleared."""
    changes = _phone_in(changes, changes.get("country", customer.country))
    values: dict[str, Any] = {
        name: (value if value is not None else _EMPTY.get(name)) for name, value in changes.items()
    }
    if values.get("attributes"):
        # Attributes merge key by key (RFC 7396): null removes one, the others are kept.
        merged = {**customer.attributes, **values["attributes"]}
        values["attributes"] = {k: v for k, v in merged.items() if v is not None}
        if len(values["attributes"]) > MAX_ATTRIBUTES:
            raise InvalidField("attributes", f"at most {MAX_ATTRIBUTES} attributes")
    changed = replace(customer, **values)
    _check_tag_changes(customer.tags, changed.tags)
    if not changed.email and not changed.phone:
        raise ContactRequired
    if changed.profile() == customer.profile():
        return customer
    return replace(changed, updated_at=now(), version=customer.version + 1)


EVENT_FIELDS = (*PROFILE_FIELDS, "email_consent", "sms_consent")


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Profile and consent fields whose value differs (events name them in `changed`)."""
    return sorted(name for name in EVENT_FIELDS if old.get(name) != new.get(name))
