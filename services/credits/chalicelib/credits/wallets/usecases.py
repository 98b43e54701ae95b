"""What the credits service does, one function per use case."""

from __future__ import annotations

from typing import Any

from chalicelib.credits.settings import settings
from chalicelib.credits.wallets.rules import Wallet, WalletNotFound, WalletStatus
from chalicelib.credits.wallets.store import WalletStore
from clientela import aws
from clientela.idempotency import idempotent
from clientela.ids import is_id

# The customer events credits acts on; its subscription rule (infra/credits.yaml) takes these.
# (customer.merged is the ledger's: the merged customers' lots move to the kept one.)
FOLLOWED_EVENTS = ("customer.created", "customer.deleted", "customer.merged")


def wallet_store() -> WalletStore:
    return WalletStore(aws.dynamodb(), settings().table)


def get_wallet(store_id: str, customer_id: str) -> Wallet:
    wallet = wallet_store().get(store_id, customer_id) if is_id(customer_id) else None
    if wallet is None:
        raise WalletNotFound
    return wallet


def is_customer(store_id: str, customer_id: str) -> bool:
    """Whether the store has this customer. Other areas know customers by their wallet, opened
    on `customer.created` and closed on deletion (credits never reads the customers table)."""
    try:
        return get_wallet(store_id, customer_id).status is WalletStatus.OPEN
    except WalletNotFound:
        return False


@idempotent(table=lambda: settings().idempotency_table, key="event_id")
def follow_customer_event(request: dict[str, Any]) -> dict[str, Any]:
    """Keeps wallets in step with customers. Keyed on the event id: a redelivery is a no-op.

    `request` carries the event id, type, store and the event data as JSON.
    """
    # Here, not at the top: the other areas import this module for `wallet_store` alone, and
    # their functions (schedules, the stream) should not load the customer contracts at start.
    from clientela_events.customers import CustomerCreatedV1, CustomerDeletedV1  # noqa: PLC0415

    store = wallet_store()
    store_id = request["store_id"]
    if request["event_type"] == "customer.created":
        created = CustomerCreatedV1.model_validate(request["data"])
        opened = store.open(store_id, created.customer.id, created.customer.created_at)
        return {"outcome": "opened" if opened else "already-known"}
    if request["event_type"] == "customer.deleted":
        deleted = CustomerDeletedV1.model_validate(request["data"])
        store.close(store_id, deleted.customer_id, deleted.deleted_at)
        return {"outcome": "closed"}
    return {"outcome": "ignored"}
