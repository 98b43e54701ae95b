"""What the credits settings and the cashback programme do, one function per use case."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.credits.ledger.rules import KeyReused, LedgerError
from chalicelib.credits.ledger.usecases import claw_back, grant, store_settings
from chalicelib.credits.programmes.rules import (
    PendingCashback,
    Reason,
    Status,
    StoreSettings,
    cashback_amount,
    clawback_due,
    follow_order,
)
from chalicelib.credits.programmes.store import ProgrammeStore, StaleVersion
from chalicelib.credits.settings import settings
from chalicelib.credits.wallets.rules import WalletNotFound, WalletStatus
from chalicelib.credits.wallets.usecases import wallet_store
from clientela import aws
from clientela.events import OutgoingEvent
from clientela_events.cashback import CashbackV1

if TYPE_CHECKING:
    from clientela_events.storefront import OrderPlacedV1

log = logging.getLogger(__name__)
EVENT_ID_NAMESPACE = uuid.UUID("5c0b2a8e-7d41-4f0e-9b6a-2f3e4d5c6b7a")
_ATTEMPTS = 10

__all__ = ["StaleVersion"]


def programme_store() -> ProgrammeStore:
    return ProgrammeStore(aws.dynamodb(), settings().table)


def now() -> datetime:
    return datetime.now(UTC)


# Settings ------------------------------------------------------------------------------------


def get_settings(store_id: str) -> StoreSettings:
    """The store's settings; the defaults (version 0) for a store that never set them."""
    return store_settings(store_id)


class PreconditionRequired(Exception):
    """The settings exist and the write named no version."""


def put_settings(
    store_id: str, new: StoreSettings, versions: frozenset[int] | None
) -> StoreSettings:
    """Replaces the settings if the version read (`versions`, from If-Match) is current.

    None: no If-Match; allowed only while the store has never set them (nothing to overwrite
    unseen). An empty set: `*`, any version. Raises StaleVersion or PreconditionRequired."""
    current = get_settings(store_id)
    if versions is None and current.version > 0:
        raise PreconditionRequired
    if versions and current.version not in versions:
        raise StaleVersion(current.version)
    written = replace(new, version=current.version + 1, updated_at=now())
    programme_store().put_settings(store_id, written, current.version)
    return written


# Cashback ------------------------------------------------------------------------------------

FOLLOWED_EVENTS = ("order.placed", "order.cancelled", "order.refunded")


def cashback_event(cashback: PendingCashback) -> OutgoingEvent | None:
    """`cashback.<status>` of a cashback as written (`publishing`, from the table's stream):
    the id is derived from its state, so a redelivered stream record publishes the same id."""
    if cashback.status is Status.GRANTED:
        return None  # the ledger's credit.granted says it
    return OutgoingEvent(
        f"cashback.{cashback.status.value}",
        1,
        uuid.uuid5(
            EVENT_ID_NAMESPACE,
            f"{cashback.store_id}|{cashback.order_id}|{cashback.status}|{cashback.amount}",
        ),
        cashback.store_id,
        cashback.updated_at,
        CashbackV1(
            customer_id=cashback.customer_id,
            order_id=cashback.order_id,
            amount=cashback.amount,
            currency=cashback.currency,
            status=cashback.status.value,
            reason=cashback.reason.value,
            due_at=cashback.due_at,
            at=cashback.updated_at,
        ),
    )


def _placed(store_id: str, data: OrderPlacedV1) -> str:
    if data.customer_id is None:
        return "guest"
    wallet = wallet_store().get(store_id, data.customer_id)
    if wallet is None or wallet.status is not WalletStatus.OPEN:
        return "no-wallet"
    store_settings = get_settings(store_id)
    programme = store_settings.cashback
    if not programme.enabled:
        return "no-programme"
    total = Decimal(str(data.total))
    amount = cashback_amount(total, programme.percent, data.currency)
    reason = Reason.ORDER_PLACED
    if data.currency != store_settings.default_currency:
        reason = Reason.OTHER_CURRENCY
    elif programme.minimum_total is not None and total < programme.minimum_total:
        reason = Reason.BELOW_MINIMUM
    elif amount <= 0:
        reason = Reason.NOTHING_TO_GIVE
    at = now()
    cashback = PendingCashback(
        store_id=store_id,
        customer_id=data.customer_id,
        order_id=data.order_id,
        currency=data.currency,
        total=total,
        percent=programme.percent,
        amount=amount,
        status=Status.PENDING if reason is Reason.ORDER_PLACED else Status.VOIDED,
        reason=reason,
        placed_at=data.placed_at,
        due_at=data.placed_at + timedelta(days=programme.hold_window_days),
        expiry_days=programme.expiry_days,
        updated_at=at,
    )
    store = programme_store()
    created = store.create(cashback)
    # After the cashback is written: a cancellation or refund that came first is applied now,
    # one that comes later finds the customer here.
    trail = store.note(store_id, data.order_id, customer_id=data.customer_id)
    outcome = _apply(store_id, data.customer_id, data.order_id, trail.cancelled, trail.refunds)
    return reason.value if created else f"seen:{outcome}"


def _apply(
    store_id: str,
    customer_id: str,
    order_id: str,
    cancelled: bool,
    refunds: dict[str, Decimal | None],
) -> str:
    store = programme_store()
    for _ in range(_ATTEMPTS):
        current = store.get(store_id, customer_id, order_id)
        if current is None:
            return "no-cashback"
        owed = clawback_due(current, cancelled=cancelled, refunds=refunds)
        if owed > 0:
            if _claw(current, owed, cancelled):
                return "clawed-back"
            continue
        after = follow_order(current, cancelled=cancelled, refunds=refunds, at=now())
        if after == current:
            return current.status.value
        if store.replace(replace(after, version=current.version + 1)):
            return after.status.value
    raise RuntimeError("cashback kept changing")


def _claw(cashback: PendingCashback, owed: Decimal, cancelled: bool) -> bool:
    """Takes back what a late cancellation or refund owes from the granted lot, recording what
    could not be (spent or expired). The ledger key is derived from the total owed so far, so
    a retry after a crash between the two writes takes nothing twice. False: lost a race to
    another change of the cashback (read it again)."""
    target = cashback.clawed + cashback.uncollectable + owed
    taken = claw_back(
        cashback.store_id,
        cashback.customer_id,
        grant_key=f"cashback:{cashback.order_id}",
        amount=owed,
        key=f"cashback-claw:{cashback.order_id}:{target}",
        note=f"cashback of order {cashback.order_id} taken back: "
        + ("order cancelled" if cancelled else "order refunded"),
    )
    after = replace(
        cashback,
        clawed=cashback.clawed + taken,
        uncollectable=cashback.uncollectable + owed - taken,
        reason=Reason.ORDER_CANCELLED if cancelled else Reason.ORDER_REFUNDED,
        updated_at=now(),
        version=cashback.version + 1,
    )
    return programme_store().replace(after)


def follow_event(store_id: str, data: Any) -> str:
    """Keeps each order's cashback in step with the order's events, in any order of arrival
    and however often each is delivered."""
    # Here, not at the top: the cashback schedule and the stream publisher import this module
    # and need no storefront contract (the order-event consumer has them loaded already).
    from clientela_events.storefront import OrderCancelledV1, OrderPlacedV1, OrderRefundedV1  # noqa: PLC0415

    if isinstance(data, OrderPlacedV1):
        return _placed(store_id, data)
    if isinstance(data, OrderCancelledV1):
        trail = programme_store().note(store_id, data.order_id, cancelled=True)
    elif isinstance(data, OrderRefundedV1):
        amount = None if data.amount is None else Decimal(str(data.amount))
        trail = programme_store().note(store_id, data.order_id, refund=(data.refund_id, amount))
    else:
        return "ignored"
    if trail.customer_id is None:
        return "noted"  # the order is not here yet: its placement applies this
    return _apply(store_id, trail.customer_id, data.order_id, trail.cancelled, trail.refunds)


def grant_due(at: datetime) -> dict[str, int]:
    """The scheduled job: grants every pending cashback due by `at` through the ledger."""
    store = programme_store()
    outcomes = {"granted": 0, "voided": 0, "failed": 0}
    for store_id, customer_id, order_id in store.due(at):
        cashback = store.get(store_id, customer_id, order_id)
        if cashback is None or cashback.status is not Status.PENDING or cashback.due_at > at:
            continue
        try:
            grant(
                store_id,
                customer_id,
                kind="cashback",
                amount=cashback.amount,
                currency=cashback.currency,
                expires_at=cashback.expires_at,
                origin={"order": order_id},
                note=None,
                key=f"cashback:{order_id}",
            )
            after = replace(cashback, status=Status.GRANTED, reason=Reason.GRANTED)
            outcomes["granted"] += 1
        except KeyReused:
            # An earlier run granted it, then lost the race to mark it granted to a refund that
            # lowered the amount: the ledger holds the grant under this order's key.
            after = replace(cashback, status=Status.GRANTED, reason=Reason.GRANTED)
            outcomes["granted"] += 1
        except WalletNotFound:
            after = replace(cashback, status=Status.VOIDED, reason=Reason.WALLET_CLOSED)
            outcomes["voided"] += 1
        except LedgerError:
            log.exception("cashback grant failed", extra={"order_id": order_id})
            outcomes["failed"] += 1
            continue
        after = replace(after, updated_at=now(), version=cashback.version + 1)
        # Lost to a concurrent refund: the grant stands (the ledger keeps it by its key); the
        # next run finds it pending and marks it granted (the key answers or refuses the body).
        store.replace(after)
    return outcomes


def cashbacks(store_id: str, customer_id: str) -> list[PendingCashback]:
    return sorted(
        programme_store().of_customer(store_id, customer_id),
        key=lambda c: (c.placed_at, c.order_id),
        reverse=True,
    )


def follow_merge(store_id: str, merged_ids: list[str], kept_id: str) -> int:
    """`customer.merged`: each pending cashback of the merged customers moves to the kept
    one: written under the kept customer first (a create: a redelivery finds it), then the
    order's trail points to the kept customer (later cancellations and refunds find it), then
    the merged one is voided (`customer-merged`). A crash between the steps is completed by
    the redelivery. Granted cashbacks moved with their lots (the ledger's merge). How many."""
    store = programme_store()
    moved = 0
    for merged_id in merged_ids:
        if merged_id == kept_id:
            continue
        for cashback in store.of_customer(store_id, merged_id):
            if cashback.status is not Status.PENDING:
                continue
            at = now()
            store.create(replace(cashback, customer_id=kept_id, version=0, updated_at=at))
            trail = store.note(store_id, cashback.order_id, customer_id=kept_id)
            voided = replace(
                cashback,
                status=Status.VOIDED,
                reason=Reason.CUSTOMER_MERGED,
                updated_at=at,
                version=cashback.version + 1,
            )
            if store.replace(voided):
                moved += 1
            _apply(store_id, kept_id, cashback.order_id, trail.cancelled, trail.refunds)
    return moved
