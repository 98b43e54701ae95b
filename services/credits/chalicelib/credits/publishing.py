"""Credits events, published from the table's stream.

Every committed write reaches the stream, and only committed writes do: a crash between a
posting and its announcement cannot lose the event (the stream keeps the record until the
publisher has put it on the bus), and no event goes out for a write that did not happen. Each
event's id is derived from the item (an entry's id, a cashback's or referral's state, a coupon's
code and order), so a redelivered or retried stream batch publishes the same ids and consumers
keep one.

What each item stands for:
- `ENTRY#…` inserted: `credit.granted` / `credit.spent` / `credit.reverted` / `credit.expired`;
- `LOT#…` whose `warned` turns true (the expiry job): `credit.expiring`;
- `CASHBACK#…` inserted pending, or whose status or amount changed: `cashback.<status>`;
- a referral inserted, or whose status, reason, referrer or friend changed: `referral.<status>`;
- a coupon inserted: `coupon.created`; a redemption (re)made: `coupon.redeemed`, reverted:
  `coupon.reverted`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.credits.coupons.rules import RedemptionStatus
from chalicelib.credits.coupons.store import coupon_of, redemption_of
from chalicelib.credits.coupons.usecases import created_event, redeemed_event, reverted_event
from chalicelib.credits.ledger.store import entry_of, lot_of
from chalicelib.credits.ledger.usecases import entry_event, expiring_event
from chalicelib.credits.programmes.store import ProgrammeStore
from chalicelib.credits.programmes.usecases import cashback_event
from chalicelib.credits.referrals.store import referral_of
from chalicelib.credits.referrals.usecases import referral_event
from clientela.events import OutgoingEvent, publish

Event = OutgoingEvent | None


def _s(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if value else None


def _changed(old: dict[str, Any], new: dict[str, Any], *names: str) -> bool:
    return any(old.get(name) != new.get(name) for name in names)


def _ledger(record: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> Event:
    _prefix, store_id, customer_id = (_s(new, "pk") or "").split("#", 2)
    if _s(new, "entity") == "entry":
        if record["eventName"] != "INSERT":
            return None
        expires = _s(new, "lot_expires_at")
        return entry_event(
            store_id,
            customer_id,
            entry_of(new),
            datetime.fromisoformat(expires) if expires else None,
        )
    was = old.get("warned", {}).get("BOOL", False)
    if not new.get("warned", {}).get("BOOL", False) or was:
        return None
    at = datetime.fromtimestamp(
        float(record["dynamodb"].get("ApproximateCreationDateTime", 0)), UTC
    )
    return expiring_event(store_id, customer_id, lot_of(new), at)


def _cashback(record: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> Event:
    cashback = ProgrammeStore.cashback_of(new)
    if record["eventName"] == "INSERT":
        # Recorded voided at once (other currency, below the minimum): nothing to say.
        return cashback_event(cashback) if cashback.status.value == "pending" else None
    return cashback_event(cashback) if _changed(old, new, "status", "amount") else None


def _referral(record: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> Event:
    moved = ("referrer_id", "friend_id")  # a merge re-pointed it
    if record["eventName"] == "INSERT" or _changed(old, new, "status", "reason", *moved):
        return referral_event(referral_of(new))
    return None


def _coupon(record: dict[str, Any], new: dict[str, Any], _old: dict[str, Any]) -> Event:
    return created_event(coupon_of(new)) if record["eventName"] == "INSERT" else None


def _redemption(record: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> Event:
    redemption, left = redemption_of(new)
    if redemption.status is RedemptionStatus.REVERTED:
        was_live = _s(old, "status") == RedemptionStatus.REDEEMED.value
        return reverted_event(redemption) if was_live else None
    if record["eventName"] == "INSERT" or _changed(old, new, "status", "redeemed_at"):
        return redeemed_event(redemption, left)
    return None


_BY_ENTITY: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Event]] = {
    "entry": _ledger,
    "lot": _ledger,
    "referral": _referral,
    "coupon": _coupon,
    "coupon-redemption": _redemption,
}


def event_for(record: dict[str, Any]) -> Event:
    """The event a stream record stands for; None for the items no event describes."""
    change = record["dynamodb"]
    new: dict[str, Any] = change.get("NewImage") or {}
    old: dict[str, Any] = change.get("OldImage") or {}
    if not new:
        return None  # nothing the service publishes is deleted
    if (_s(new, "sk") or "").startswith("CASHBACK#"):  # cashback items have no `entity`
        return _cashback(record, new, old)
    follow = _BY_ENTITY.get(_s(new, "entity") or "")
    return follow(record, new, old) if follow else None


def publish_changes(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Publishes a stream batch in order; reports the first failure so it and the rest are
    retried (Lambda's ReportBatchItemFailures)."""
    outgoing = [(r, e) for r in records if (e := event_for(r)) is not None]
    failed = publish([event for _, event in outgoing])
    if not failed:
        return {"batchItemFailures": []}
    first = outgoing[min(failed)][0]
    return {"batchItemFailures": [{"itemIdentifier": first["dynamodb"]["SequenceNumber"]}]}
