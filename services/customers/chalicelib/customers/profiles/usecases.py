"""What the customers service does, one function per use case.

Use cases speak the domain's language and raise domain errors; routes translate to HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.customers.errors import (
    CustomerNotFound,
    InvalidField,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.photos import store as photo_store
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import CustomerCreate
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.profiles.store import CustomerStore
from chalicelib.customers.settings import settings
from clientela import aws
from clientela.idempotency import idempotent
from clientela.ids import is_id, new_id
from clientela.retry import back_off

_CONFLICT_RETRIES = 3


def customer_store() -> CustomerStore:
    return CustomerStore(aws.dynamodb(), settings().table)


@dataclass(frozen=True)
class Precondition:
    """An If-Match header: the versions the caller last saw (`None`: any version)."""

    versions: frozenset[int] | None = None

    def allows(self, version: int) -> bool:
        return self.versions is None or version in self.versions


def create_customer(
    store_id: str,
    profile: dict[str, Any],
    *,
    consents: dict[str, Consent] | None = None,
    correlation_id: str | None = None,
) -> Customer:
    customer = domain.new_customer(store_id, new_id(), profile, consents)
    store = customer_store()
    for attempt in range(_CONFLICT_RETRIES):
        try:
            store.add(customer, correlation_id=correlation_id)
        except WriteConflict:
            if attempt == _CONFLICT_RETRIES - 1:
                raise
            back_off(attempt)
            continue
        break
    return customer


@idempotent(
    table=lambda: settings().idempotency_table,
    key="[store_id, idempotency_key]",
    payload="body",
)
def create_customer_once(request: dict[str, Any]) -> dict[str, Any]:
    """`create_customer` for a request with an Idempotency-Key: a retry gets the first answer.

    Only the new id is kept with the key (never the profile): a retry reads the customer again.
    """
    body = CustomerCreate.model_validate(request["body"])
    customer = create_customer(
        request["store_id"],
        body.profile(),
        consents=body.consents(),
        correlation_id=request.get("correlation_id"),
    )
    return {"id": customer.id}


def get_customer(store_id: str, customer_id: str) -> Customer:
    customer = customer_store().get(store_id, customer_id) if is_id(customer_id) else None
    if customer is None:
        raise CustomerNotFound
    return customer


def _change(
    store_id: str,
    customer_id: str,
    precondition: Precondition,
    write: Callable[[Customer], Customer],
) -> Customer:
    """Reads the customer, checks If-Match, and writes; re-reads and retries a lost race.

    With If-Match the caller's version decides (412); without it, a concurrent change is
    re-read and the write tried again on top of it.
    """
    for attempt in range(_CONFLICT_RETRIES):
        current = get_customer(store_id, customer_id)
        if not precondition.allows(current.version):
            raise VersionMismatch(current.version)
        try:
            return write(current)
        except VersionMismatch as exc:
            if exc.current_version is None:  # deleted meanwhile
                raise CustomerNotFound from None
            if precondition.versions is not None:
                raise
        except WriteConflict:
            back_off(attempt)
    raise WriteConflict


# For the other areas' use cases (photos): the same read, check and retry around their writes.
change_customer = _change


def update_customer(
    store_id: str,
    customer_id: str,
    changes: dict[str, Any],
    precondition: Precondition,
    *,
    correlation_id: str | None = None,
) -> Customer:
    """Applies a merge patch; a patch that changes nothing writes nothing."""
    store = customer_store()

    def write(current: Customer) -> Customer:
        updated = domain.apply_changes(current, changes)
        if updated is not current:
            store.replace(current, updated, correlation_id=correlation_id)
        return updated

    return _change(store_id, customer_id, precondition, write)


def set_consent(
    store_id: str,
    customer_id: str,
    channel: str,
    consent: Consent,
    *,
    correlation_id: str | None = None,
) -> Customer:
    """A consent operation; repeating one that changes nothing writes nothing."""
    store = customer_store()

    def write(current: Customer) -> Customer:
        updated = domain.set_consent(current, channel, consent)
        if updated is not current:
            store.replace(current, updated, correlation_id=correlation_id)
        return updated

    return _change(store_id, customer_id, Precondition(), write)


def change_tags(
    store_id: str,
    customer_id: str,
    *,
    add: list[str],
    remove: list[str],
    correlation_id: str | None = None,
) -> Customer:
    """Adds and removes tags on top of the customer as it is now (a concurrent change is re-read,
    never overwritten); tags already so write nothing, so a repeated request is a no-op.

    Raises InvalidField (`tags`) for a tag that is not one or a result over the limits."""
    store = customer_store()

    def write(current: Customer) -> Customer:
        try:
            tags = domain.tags_changed(current.tags, add, remove)
        except ValueError as exc:
            raise InvalidField("tags", str(exc)) from None
        if tags == sorted(current.tags):
            return current
        updated = domain.apply_changes(current, {"tags": tags})
        if updated is not current:
            store.replace(current, updated, correlation_id=correlation_id)
        return updated

    return _change(store_id, customer_id, Precondition(), write)


def delete_customer(store_id: str, customer_id: str, precondition: Precondition) -> None:
    store = customer_store()

    def write(current: Customer) -> Customer:
        store.remove(current)
        return current

    deleted = _change(store_id, customer_id, precondition, write)
    # Only the photo the item pointed at: uploads never confirmed expire by themselves.
    if deleted.photo is not None:
        photo_store.discard(deleted.photo.key)


def tag_counts(store_id: str) -> list[tuple[str, int]]:
    return customer_store().tag_counts(store_id)
