"""What the customers service does, one function per use case.

Use cases speak the domain's language and raise domain errors; routes translate to HTTP.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.customers import domain
from chalicelib.customers.domain import (
    Customer,
    CustomerNotFound,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.settings import settings
from chalicelib.customers.store import CustomerStore
from clientela import aws
from clientela.idempotency import idempotent
from clientela.ids import is_id, new_id

_CONFLICT_RETRIES = 3


def _back_off(attempt: int) -> None:
    """A short, jittered pause before retrying a write that lost a race."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not security


def customer_store() -> CustomerStore:
    return CustomerStore(aws.dynamodb(), settings().table)


@dataclass(frozen=True)
class Precondition:
    """An If-Match header: the versions the caller last saw (`None`: any version)."""

    versions: frozenset[int] | None = None

    def allows(self, version: int) -> bool:
        return self.versions is None or version in self.versions


def create_customer(
    store_id: str, profile: dict[str, Any], *, correlation_id: str | None = None
) -> Customer:
    customer = domain.new_customer(store_id, new_id(), profile)
    store = customer_store()
    for attempt in range(_CONFLICT_RETRIES):
        try:
            store.add(customer, correlation_id=correlation_id)
        except WriteConflict:
            if attempt == _CONFLICT_RETRIES - 1:
                raise
            _back_off(attempt)
            continue
        break
    return customer


@idempotent(
    table=lambda: settings().idempotency_table,
    key="[store_id, idempotency_key]",
    payload="profile",
)
def create_customer_once(request: dict[str, Any]) -> dict[str, Any]:
    """`create_customer` for a request with an Idempotency-Key: a retry gets the first answer."""
    customer = create_customer(
        request["store_id"], request["profile"], correlation_id=request.get("correlation_id")
    )
    return customer.as_json()


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
            _back_off(attempt)
    raise WriteConflict


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


def delete_customer(store_id: str, customer_id: str, precondition: Precondition) -> None:
    store = customer_store()

    def write(current: Customer) -> Customer:
        store.remove(current)
        return current

    _change(store_id, customer_id, precondition, write)


def list_customers(
    store_id: str, *, limit: int, after_id: str | None
) -> tuple[list[Customer], str | None]:
    """A page of customers, newest first, and the id to continue after (None at the end)."""
    customers, more = customer_store().page(store_id, limit=limit, after_id=after_id)
    return customers, (customers[-1].id if more and customers else None)
