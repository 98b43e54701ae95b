"""What the customers service does, one function per use case.

Use cases speak the domain's language and raise domain errors; routes translate to HTTP.
"""

from __future__ import annotations

import random
import time
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


def update_customer(
    store_id: str,
    customer_id: str,
    changes: dict[str, Any],
    precondition: Precondition,
    *,
    correlation_id: str | None = None,
) -> Customer:
    """Applies a merge patch. Without If-Match, a concurrent writer makes us re-read and retry."""
    store = customer_store()
    for attempt in range(_CONFLICT_RETRIES):
        current = get_customer(store_id, customer_id)
        if not precondition.allows(current.version):
            raise VersionMismatch(current.version)
        updated = domain.apply_changes(current, changes)
        if updated is current:
            return current
        try:
            store.replace(current, updated, correlation_id=correlation_id)
        except VersionMismatch:
            if precondition.versions is not None:
                raise
            continue
        except WriteConflict:
            _back_off(attempt)
            continue
        return updated
    raise WriteConflict


def delete_customer(store_id: str, customer_id: str, precondition: Precondition) -> None:
    store = customer_store()
    for attempt in range(_CONFLICT_RETRIES):
        current = get_customer(store_id, customer_id)
        if not precondition.allows(current.version):
            raise VersionMismatch(current.version)
        try:
            store.remove(current)
        except VersionMismatch as exc:
            if exc.current_version is None:
                raise CustomerNotFound from None
            if precondition.versions is not None:
                raise
            continue
        except WriteConflict:
            _back_off(attempt)
            continue
        return
    raise WriteConflict


def list_customers(
    store_id: str, *, limit: int, after_id: str | None
) -> tuple[list[Customer], str | None]:
    """A page of customers, newest first, and the id to continue after (None at the end)."""
    customers, more = customer_store().page(store_id, limit=limit, after_id=after_id)
    return customers, (customers[-1].id if more and customers else None)
