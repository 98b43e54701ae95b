"""Privacy use cases of the customers service: tombstones, the access contribution, erasure.

Access: the profile, its consent (current and history), orders, reviews and the whole
timeline, as one JSON part. Erasure: tombstones first (the only step that needs the e-mail and
phone, so a crash after it can still be finished by a redelivery), then the orders keep their
totals and dates under a pseudonym (`erased-<request>@erased.invalid`, so the reports' totals do
not move), then the profile goes as a deletion does (e-mail reservation, search entries, tag
memberships, photo; `customer.deleted` tells the other services), then the timeline. Every
step is idempotent; a redelivery finds less to do and answers the same.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime
from typing import Any

from chalicelib.customers.errors import CustomerNotFound
from chalicelib.customers.orders import usecases as order_usecases
from chalicelib.customers.privacy import rules
from chalicelib.customers.privacy.store import TombstoneStore, anonymise_order
from chalicelib.customers.profiles import usecases as profile_usecases
from chalicelib.customers.profiles.rules import normalise_phone
from chalicelib.customers.settings import settings
from chalicelib.customers.timeline import usecases as timeline_usecases
from chalicelib.customers.timeline.rules import Kind, TimelineEntry
from clientela import aws
from clientela import privacy as protocol
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value
from clientela_events.privacy import PrivacyRequestedV1


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


def _timeline(store_id: str, customer_id: str) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    after: str | None = None
    while True:
        page, after = timeline_usecases.timeline_store().page(
            store_id, customer_id, kinds=None, limit=200, after=after
        )
        entries += page
        if after is None:
            return entries


def access_document(store_id: str, customer_id: str) -> dict[str, Any] | None:
    """Everything the customers service holds about the customer; None if it holds no profile."""
    customer = profile_usecases.customer_store().get(store_id, customer_id)
    if customer is None:
        return None
    orders = list(order_usecases.order_store().owned(store_id, customer_id))
    timeline = _timeline(store_id, customer_id)
    return {
        "profile": customer,
        "consent": {"email": customer.email_consent, "sms": customer.sms_consent},
        "consent_history": [e for e in timeline if e.kind == Kind.CONSENT_CHANGED],
        "orders": orders,
        "reviews": [e for e in timeline if e.kind == Kind.REVIEW_POSTED],
        "timeline": timeline,
    }


def contribute_access(store_id: str, request: PrivacyRequestedV1, now: datetime) -> str:
    document = access_document(store_id, request.customer_id)
    if document is None:
        protocol.failed(
            store_id,
            request,
            "customers",
            reason="customer-not-found",
            detail="The store has no customer with this id (never created, or deleted)",
            at=now,
        )
        return "failed"
    records = 1 + len(document["orders"]) + len(document["timeline"])
    protocol.contributed(store_id, request, "customers", document, records=records, at=now)
    return "contributed"


def pseudonym(request_id: str) -> str:
    """What an erased customer's orders carry instead of the e-mail (a reserved domain)."""
    return f"erased-{request_id.lower()}@erased.invalid"


def erase(store_id: str, request: PrivacyRequestedV1, now: datetime) -> dict[str, int]:
    customer_id = request.customer_id
    counts = {"profile": 0, "tombstones": 0, "orders_anonymised": 0, "timeline": 0}
    customer = profile_usecases.customer_store().get(store_id, customer_id)
    if customer is not None:
        counts["tombstones"] = write_tombstones(
            store_id,
            email=customer.email,
            phone=customer.phone,
            request_id=request.request_id,
            at=now,
        )
    label = pseudonym(request.request_id)
    for order in order_usecases.order_store().owned(store_id, customer_id):
        if order.email != label and anonymise_order(
            aws.dynamodb(), settings().table, store_id, order, label
        ):
            counts["orders_anonymised"] += 1
    if customer is not None:
        try:
            profile_usecases.delete_customer(store_id, customer_id, profile_usecases.Precondition())
            counts["profile"] = 1
        except CustomerNotFound:
            pass  # deleted meanwhile: nothing left to erase
    counts["timeline"] = timeline_usecases.delete_timeline(store_id, customer_id)
    protocol.erased(store_id, request, "customers", counts, at=now)
    return counts
