"""What the customers service does, one function per use case.

Use cases speak the domain's language and raise domain errors; routes translate to HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.errors import (
    CustomerNotFound,
    InvalidField,
    VersionMismatch,
    WriteConflict,
)
from chalicelib.customers.photos import store as photo_store
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.profiles.store import TOTALS_SK, CustomerStore
from chalicelib.customers.settings import settings
from clientela import aws
from clientela.idempotency import idempotent
from clientela.ids import is_id, new_id
from clientela.retry import back_off

logger = Logger(service="customers")

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
    # Here, not at the top: the API models load in the API function, not in the stream and
    # queue functions that import this module for its other use cases.
    from chalicelib.customers.profiles.models import CustomerCreate  # noqa: PLC0415

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


def grow_stores(records: Sequence[dict[str, Any]]) -> list[str]:
    """Gives more shards to the stores whose size asks for them (table stream); those grown.

    Every customer write adds to its shard's counters in the same transaction, and the stream
    record of that write carries the counter before and after: when a shard's count crosses a
    step (`rules.growth_check_due`), the store's size is read (one small item per shard) and its
    shard count raised to `rules.shards_for` it. Growing only ever raises the count, so a
    redelivered batch, or two batches racing, change nothing more (CustomerStore.grow_shards);
    a failure is logged, never holds the stream back: the next step crossed checks again.
    """
    due: set[str] = set()
    for record in records:
        change = record.get("dynamodb") or {}
        key = change.get("Keys") or {}
        store_id = keys.counts_store(key.get("pk", {}).get("S", ""))
        if store_id is None or key.get("sk", {}).get("S") != TOTALS_SK:
            continue
        before = int(change.get("OldImage", {}).get("customers", {}).get("N", "0"))
        after = int(change.get("NewImage", {}).get("customers", {}).get("N", "0"))
        if domain.growth_check_due(before, after):
            due.add(store_id)
    grown = []
    store = customer_store()
    for store_id in sorted(due):
        try:
            shards = domain.shards_for(store.count(store_id, ["customers"]))
            if shards > store.shards(store_id):
                store.grow_shards(store_id, shards)
                logger.info("store grown", extra={"store_id": store_id, "shards": shards})
                grown.append(store_id)
        except ClientError as error:
            logger.warning(
                "store not grown",
                extra={"store_id": store_id, "error": error.response["Error"]["Code"]},
            )
    return grown
