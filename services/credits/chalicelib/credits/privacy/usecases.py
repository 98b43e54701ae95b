"""The credits service's part of a privacy request (clientela_events.privacy).

Access: the wallet (status, balances), its lots and ledger entries, the customer's referrer
code and referrals (as referrer and as friend), coupons, and what the fraud checks keep of the
customer (mailbox, phone). Erasure: the wallet and its ledger stay for the accounts (every sum
unchanged; free-text notes removed), the referral code is disabled, coupons are voided, and the
fraud checks' copy of the e-mail and phone is forgotten (as on `customer.deleted`). Each step is
idempotent; a redelivery answers the same event again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.credits.coupons.usecases import coupon_store
from chalicelib.credits.ledger.store import entry_of, lot_of
from chalicelib.credits.privacy.store import PrivacyStore
from chalicelib.credits.referrals.rules import Referral
from chalicelib.credits.referrals.usecases import referral_store
from chalicelib.credits.settings import settings
from chalicelib.credits.wallets.usecases import wallet_store
from clientela import aws
from clientela import privacy as protocol
from clientela_events.privacy import PrivacyRequestedV1

_deserializer = TypeDeserializer()


def privacy_store() -> PrivacyStore:
    return PrivacyStore(aws.dynamodb(), settings().table)


def _referrals(store_id: str, customer_id: str) -> list[Referral]:
    records = referral_store()
    found: list[Referral] = []
    after: str | None = None
    while True:
        page, after = records.of_referrer(
            store_id, customer_id, status=None, limit=100, after=after
        )
        found += page
        if after is None:
            break
    as_friend = records.of_friend(store_id, customer_id)
    return found + ([as_friend] if as_friend is not None else [])


def access_document(store_id: str, customer_id: str) -> dict[str, Any]:
    balances, lots, entries = [], [], []
    for item in privacy_store().wallet_items(store_id, customer_id):
        sk = item["sk"]["S"]
        if sk.startswith("BAL#"):
            plain = {k: _deserializer.deserialize(v) for k, v in item.items()}
            balances.append({"currency": sk.removeprefix("BAL#"), "balance": plain["balance"]})
        elif sk.startswith("LOT#"):
            lots.append(lot_of(item))
        elif sk.startswith("ENTRY#"):
            entries.append(entry_of(item))
    records = referral_store()
    known = records.known(store_id, customer_id)
    return {
        "wallet": wallet_store().get(store_id, customer_id),
        "balances": balances,
        "lots": lots,
        "ledger": entries,
        "referrer": records.get_referrer(store_id, customer_id),
        "referrals": _referrals(store_id, customer_id),
        "coupons": coupon_store().of_customer(store_id, customer_id),
        "fraud_checks": {"mailbox": known.mailbox, "phone": known.phone},
    }


def contribute_access(store_id: str, request: PrivacyRequestedV1, now: datetime) -> None:
    document = access_document(store_id, request.customer_id)
    records = (
        sum(len(document[name]) for name in ("balances", "lots", "ledger", "referrals", "coupons"))
        + (document["wallet"] is not None)
        + (document["referrer"] is not None)
    )
    protocol.contributed(store_id, request, "credits", document, records=records, at=now)


def erase(store_id: str, request: PrivacyRequestedV1, now: datetime) -> dict[str, int]:
    customer_id = request.customer_id
    store = privacy_store()
    counts = {"notes_removed": store.remove_notes(store_id, customer_id)}
    records = referral_store()
    referrer = records.get_referrer(store_id, customer_id)
    if referrer is not None:
        store.disable_referrer(store_id, customer_id, referrer.code, now)
    counts["referral_codes_disabled"] = int(referrer is not None)
    counts["coupons_voided"] = sum(
        store.void_coupon(store_id, coupon.code, customer_id, now)
        for coupon in coupon_store().of_customer(store_id, customer_id)
    )
    records.forget_known(store_id, customer_id)
    protocol.erased(store_id, request, "credits", counts, at=now)
    return counts
