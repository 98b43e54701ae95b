"""Privacy use cases of the customers service: tombstones, the access contribution, erasure."""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime
from typing import Any

from chalicelib.customers.privacy import rules
from chalicelib.customers.privacy.store import TombstoneStore
from chalicelib.customers.profiles.rules import normalise_phone
from chalicelib.customers.settings import settings
from clientela import aws
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value


def tombstone_store() -> TombstoneStore:
    return TombstoneStore(aws.dynamodb(), settings().table)


@functools.cache
def _key(secret: str) -> bytes:
    return secret.encode()


def tombstone_key() -> bytes:
    # Never rotated in place: a new key would make every existing tombstone unrecognisable.
    return _key(secret_value(settings().tombstone_key_secret, max_age=3600))


def is_erased(store_id: str, *, email: str | None, phone: str | None) -> bool:
    """Whether a person with this e-mail or phone was erased from the store.

    Imports, syncs and `POST /customers` ask before they create: an erased person is not brought
    back. Text that is no valid e-mail or phone matches nothing.
    """
    digests = rules.tombstone_digests(tombstone_key(), store_id, email=email, phone=phone)
    return tombstone_store().any_present(store_id, digests)


def profile_is_erased(store_id: str, profile: dict[str, Any]) -> bool:
    """`is_erased` for a profile about to be created (a national phone read in its country)."""
    phone = profile.get("phone")
    if phone:
        with contextlib.suppress(ValueError):
            phone = normalise_phone(phone, profile.get("country"))
    return is_erased(store_id, email=profile.get("email"), phone=phone)


def erased_problem() -> Problem:
    """409: the store's state (an erasure it was asked for) conflicts with creating the person.

    It names no customer and says nothing of which detail matched, beyond the fields.
    """
    reason = "belongs to a person erased from this store at their request"
    return Problem(
        409,
        "erased-person",
        "Erased person",
        "This e-mail or phone belongs to a person erased at their request; they are not"
        " created again unless they sign up themselves",
        [FieldError("email", reason), FieldError("phone", reason)],
    )


def write_tombstones(
    store_id: str, *, email: str | None, phone: str | None, request_id: str, at: datetime
) -> int:
    """Tombstones for the e-mail and phone (idempotent); how many digests they hold."""
    digests = rules.tombstone_digests(tombstone_key(), store_id, email=email, phone=phone)
    tombstone_store().add(store_id, digests, request_id=request_id, at=at)
    return len(digests)
