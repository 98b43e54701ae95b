"""What the coupons area does, one function per use case."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from chalicelib.credits.coupons import rules
from chalicelib.credits.coupons.rules import (
    CodeTaken,
    Coupon,
    CouponKind,
    CouponNotFound,
    Redemption,
    RedemptionNotFound,
    RedemptionStatus,
    Refusal,
)
from chalicelib.credits.coupons.store import CouponStore, OrderAlreadyRedeemed, UsedUp
from chalicelib.credits.settings import settings
from clientela import aws
from clientela.events import OutgoingEvent
from clientela_events.coupons import CouponCreatedV1, CouponRedeemedV1, CouponRevertedV1

log = logging.getLogger(__name__)

# Fixed namespace: the same change always yields the same event id, so a replayed request
# republishes an event consumers already dropped as a duplicate.
EVENT_ID_NAMESPACE = uuid.UUID("3c0f9a52-7d1e-4b8a-9f26-5e4d3c2b1a09")
_GENERATION_ATTEMPTS = 5


class RedemptionConflict(Exception):
    """The order already redeemed this coupon with another customer, subtotal or currency."""


def coupon_store() -> CouponStore:
    return CouponStore(aws.dynamodb(), settings().table)


def now() -> datetime:
    return datetime.now(UTC)


def _event_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, "|".join(parts))


def create_coupon(
    store_id: str,
    *,
    customer_id: str,
    code: str | None,
    percentage: int | None,
    amount: Decimal | None,
    currency: str | None,
    minimum_order: Decimal | None,
    expires_at: datetime | None,
    usage_limit: int,
) -> Coupon:
    """Raises Refusal (expiry in the past) or CodeTaken (a chosen code the store already has)."""
    at = now()
    if expires_at is not None and expires_at <= at:
        raise Refusal("validation-error", "expires_at", "must be in the future")
    coupon = Coupon(
        store_id=store_id,
        code=code or rules.generate_code(),
        customer_id=customer_id,
        kind=CouponKind.PERCENTAGE if percentage is not None else CouponKind.FIXED,
        percentage=percentage,
        amount=amount,
        currency=currency,
        minimum_order=minimum_order,
        expires_at=expires_at,
        usage_limit=usage_limit,
        uses=0,
        created_at=at,
    )
    store = coupon_store()
    for attempt in range(_GENERATION_ATTEMPTS):
        try:
            store.create(coupon)
            break
        except CodeTaken:
            if code is not None or attempt == _GENERATION_ATTEMPTS - 1:
                raise
            coupon = replace(coupon, code=rules.generate_code())
    return coupon


def created_event(coupon: Coupon) -> OutgoingEvent:
    """`coupon.created` (`publishing`, from the table's stream)."""
    return OutgoingEvent(
        "coupon.created",
        1,
        _event_id(coupon.store_id, coupon.code, "created"),
        coupon.store_id,
        coupon.created_at,
        CouponCreatedV1(
            code=coupon.code,
            customer_id=coupon.customer_id,
            kind=coupon.kind.value,
            percentage=coupon.percentage,
            amount=coupon.amount,
            currency=coupon.currency,
            minimum_order=coupon.minimum_order,
            expires_at=coupon.expires_at,
            usage_limit=coupon.usage_limit,
            created_at=coupon.created_at,
        ),
    )


def get_coupon(store_id: str, code: str) -> Coupon:
    coupon = coupon_store().get(store_id, code)
    if coupon is None:
        raise CouponNotFound
    return coupon


def coupons_of(store_id: str, customer_id: str) -> list[Coupon]:
    return coupon_store().of_customer(store_id, customer_id)


def redeemed_event(redemption: Redemption, remaining_uses: int) -> OutgoingEvent:
    """`coupon.redeemed` (`publishing`, from the table's stream)."""
    return OutgoingEvent(
        "coupon.redeemed",
        1,
        _event_id(
            redemption.store_id,
            redemption.code,
            redemption.order_id,
            "redeemed",
            redemption.redeemed_at.isoformat(),
        ),
        redemption.store_id,
        redemption.redeemed_at,
        CouponRedeemedV1(
            code=redemption.code,
            customer_id=redemption.customer_id,
            order_id=redemption.order_id,
            subtotal=redemption.subtotal,
            discount=redemption.discount,
            currency=redemption.currency,
            remaining_uses=remaining_uses,
            redeemed_at=redemption.redeemed_at,
        ),
    )


def redeem(
    store_id: str, code: str, *, order_id: str, customer_id: str, subtotal: Decimal, currency: str
) -> tuple[Redemption, bool]:
    """Applies the coupon to the order: (the redemption, whether it is new).

    Idempotent per order: the same order with the same customer, subtotal and currency answers
    the first redemption; with others, RedemptionConflict. Raises CouponNotFound, Refusal (does
    not apply) or UsedUp (no use left).
    """
    store = coupon_store()
    coupon = store.get(store_id, code)
    if coupon is None:
        raise CouponNotFound

    def replayed() -> Redemption | None:
        previous = store.get_redemption(store_id, order_id, code)
        if previous is None or previous.status is not RedemptionStatus.REDEEMED:
            return None
        if not previous.same_request(customer_id, subtotal, currency):
            raise RedemptionConflict
        return previous

    previous = replayed()
    if previous is not None:
        return previous, False
    at = now()
    off = rules.discount(coupon, customer_id, subtotal, currency, at)
    redemption = Redemption(
        store_id=store_id,
        code=code,
        order_id=order_id,
        customer_id=customer_id,
        subtotal=subtotal,
        currency=currency,
        discount=off,
        status=RedemptionStatus.REDEEMED,
        redeemed_at=at,
        reverted_at=None,
    )
    try:
        store.redeem(redemption, at, remaining_uses=max(coupon.remaining_uses - 1, 0))
    except OrderAlreadyRedeemed:
        # The same order raced itself: the first one's answer is this one's.
        previous = replayed()
        if previous is None:
            raise RedemptionConflict from None
        return previous, False
    except UsedUp:
        # The coupon may have changed hands or expired between the read and the write.
        current = store.get(store_id, code)
        if current is not None:
            rules.discount(current, customer_id, subtotal, currency, now())
        raise
    return redemption, True


def _revert(redemption: Redemption) -> Redemption:
    if redemption.status is RedemptionStatus.REVERTED:
        return redemption
    at = now()
    if not coupon_store().revert(redemption, at):
        # Reverted meanwhile (a redelivered order.cancelled racing the API): that one stands.
        current = coupon_store().get_redemption(
            redemption.store_id, redemption.order_id, redemption.code
        )
        assert current is not None  # redemptions are never deleted
        return current
    return replace(redemption, status=RedemptionStatus.REVERTED, reverted_at=at)


def reverted_event(redemption: Redemption) -> OutgoingEvent:
    """`coupon.reverted` of a reverted redemption (`publishing`, from the table's stream)."""
    at = redemption.reverted_at or redemption.redeemed_at
    return OutgoingEvent(
        "coupon.reverted",
        1,
        _event_id(
            redemption.store_id,
            redemption.code,
            redemption.order_id,
            "reverted",
            redemption.redeemed_at.isoformat(),
        ),
        redemption.store_id,
        at,
        CouponRevertedV1(
            code=redemption.code,
            customer_id=redemption.customer_id,
            order_id=redemption.order_id,
            discount=redemption.discount,
            currency=redemption.currency,
            reverted_at=at,
        ),
    )


def revert(store_id: str, code: str, order_id: str) -> Redemption:
    """Gives the order's use of the coupon back. Idempotent: a reverted one stays as it is."""
    redemption = coupon_store().get_redemption(store_id, order_id, code)
    if redemption is None:
        raise RedemptionNotFound
    return _revert(redemption)


def revert_order(store_id: str, order_id: str) -> int:
    """`order.cancelled`: every coupon the order used is given back. How many were reverted."""
    reverted = 0
    for redemption in coupon_store().redemptions_of_order(store_id, order_id):
        if redemption.status is RedemptionStatus.REDEEMED:
            _revert(redemption)
            reverted += 1
    return reverted


def follow_merge(store_id: str, merged_ids: list[str], kept_id: str) -> int:
    """`customer.merged`: the merged customers' coupons with uses left move to the kept one
    (used-up ones stay as history). Conditional per coupon: a redelivery moves nothing twice.
    How many moved."""
    store = coupon_store()
    moved = 0
    for merged_id in merged_ids:
        if merged_id == kept_id:
            continue
        for coupon in store.of_customer(store_id, merged_id):
            if coupon.remaining_uses > 0 and store.reassign(coupon, kept_id):
                moved += 1
    return moved
