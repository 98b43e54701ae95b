"""Customer rules that need no AWS: normalising contact data, applying changes, comparing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_TAGS = 50
MAX_TAG_LENGTH = 40
MAX_NAME_LENGTH = 100
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
PROFILE_FIELDS = ("email", "phone", "first_name", "last_name", "city", "country", "tags")


class CustomerError(Exception):
    """A rule of the customers domain refused a change."""


class CustomerNotFound(CustomerError):
    pass


class EmailAlreadyUsed(CustomerError):
    def __init__(self, existing_id: str) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id


class VersionMismatch(CustomerError):
    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


class ContactRequired(CustomerError):
    """A customer must keep an e-mail or a phone."""


class InvalidField(CustomerError):
    """A value the rules refuse, found only once the stored customer is known."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field)
        self.field = field
        self.reason = reason


class WriteConflict(CustomerError):
    """Another write to the same items won the race; trying again may succeed."""


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
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


def normalise_phone(value: str, country: str | None) -> str:
    """E.164. Numbers without a country code are read as numbers of the customer's country."""
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
    if code not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. BR")
    return code


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
class Customer:
    id: str
    store_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    city: str | None = None
    country: str | None = None
    tags: list[str] = field(default_factory=list)

    def profile(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROFILE_FIELDS}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.profile(),
            "id": self.id,
            "store_id": self.store_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }


def _phone_in(changes: dict[str, Any], country: str | None) -> dict[str, Any]:
    """Changes with the phone in E.164, read as a number of the customer's country if national."""
    phone = changes.get("phone")
    if phone is None:
        return changes
    try:
        return {**changes, "phone": normalise_phone(phone, country)}
    except ValueError as exc:
        raise InvalidField("phone", str(exc)) from None


def new_customer(store_id: str, customer_id: str, profile: dict[str, Any]) -> Customer:
    if not profile.get("email") and not profile.get("phone"):
        raise ContactRequired
    profile = _phone_in(profile, profile.get("country"))
    at = now()
    return Customer(
        id=customer_id, store_id=store_id, created_at=at, updated_at=at, version=1, **profile
    )


def apply_changes(customer: Customer, changes: dict[str, Any]) -> Customer:
    """The customer after a merge-patch: a field set to null is cleared."""
    changes = _phone_in(changes, changes.get("country", customer.country))
    values = {
        name: (value if value is not None or name != "tags" else [])
        for name, value in changes.items()
    }
    changed = replace(customer, **values)
    if not changed.email and not changed.phone:
        raise ContactRequired
    if changed.profile() == customer.profile():
        return customer
    return replace(changed, updated_at=now(), version=customer.version + 1)


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(name for name in PROFILE_FIELDS if old.get(name) != new.get(name))
