"""What the refer-a-friend area does, one function per use case."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from chalicelib.credits.referrals import rules
from chalicelib.credits.referrals.rules import NoProgramme, Programme, Referrer, ReferrerNotFound
from chalicelib.credits.referrals.store import AlreadyEnrolled, CodeTaken, ReferralStore
from chalicelib.credits.settings import settings
from clientela import aws

_CODE_ATTEMPTS = 5


def referral_store() -> ReferralStore:
    return ReferralStore(aws.dynamodb(), settings().table)


def now() -> datetime:
    return datetime.now(UTC)


def set_programme(
    store_id: str,
    *,
    referrer_reward: Decimal,
    friend_reward: Decimal,
    currency: str,
    expiry_days: int | None,
    hold_window_days: int,
    monthly_cap: int | None,
    share_base_url: str,
) -> Programme:
    """Replaces the store's programme. Referrals keep the terms they were created under only
    in so far as their rewards are granted with the programme of the day they fall due."""
    programme = Programme(
        store_id=store_id,
        referrer_reward=referrer_reward,
        friend_reward=friend_reward,
        currency=currency,
        expiry_days=expiry_days,
        hold_window_days=hold_window_days,
        monthly_cap=monthly_cap,
        share_base_url=share_base_url,
        updated_at=now(),
    )
    referral_store().put_programme(programme)
    return programme


def get_programme(store_id: str) -> Programme:
    programme = referral_store().get_programme(store_id)
    if programme is None:
        raise NoProgramme
    return programme


def enrol(store_id: str, customer_id: str) -> tuple[Referrer, bool]:
    """Makes the customer a referrer with a code and share link: (referrer, whether new).

    Enrolling again answers the referrer as it is. Raises NoProgramme.
    """
    store = referral_store()
    existing = store.get_referrer(store_id, customer_id)
    if existing is not None:
        return existing, False
    programme = get_programme(store_id)
    code = rules.generate_code()
    referrer = Referrer(
        store_id=store_id,
        customer_id=customer_id,
        code=code,
        share_link=rules.share_link(programme.share_base_url, code),
        enrolled_at=now(),
    )
    for attempt in range(_CODE_ATTEMPTS):
        try:
            store.enrol(referrer)
            return referrer, True
        except AlreadyEnrolled:
            # A concurrent enrolment of the same customer won: its code is the customer's.
            current = store.get_referrer(store_id, customer_id)
            assert current is not None  # referrers are never deleted by the API
            return current, False
        except CodeTaken:
            if attempt == _CODE_ATTEMPTS - 1:
                raise
            code = rules.generate_code()
            referrer = replace(
                referrer, code=code, share_link=rules.share_link(programme.share_base_url, code)
            )
    raise AssertionError("unreachable")


def get_referrer(store_id: str, customer_id: str) -> Referrer:
    referrer = referral_store().get_referrer(store_id, customer_id)
    if referrer is None:
        raise ReferrerNotFound
    return referrer
