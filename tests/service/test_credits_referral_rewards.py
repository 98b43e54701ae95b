"""Referral rewards through the real ledger (chalicelib.credits.ledger.usecases.grant)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.service.conftest import Api
from tests.service.test_credits_consumer import WHEN
from tests.service.test_credits_coupons_api import JOAO, MARIA
from tests.service.test_credits_referrals_api import (  # noqa: F401
    PROGRAMME,
    cancelled,
    code,
    credits,
    deliver,
    offer,
    people,
    placed,
    programme,
    sign_up,
)


def test_both_rewards_are_granted_once_after_the_hold_window(
    credits: Api,  # noqa: F811 - the fixtures of test_credits_referrals_api
    code: str,  # noqa: F811
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    from chalicelib.credits.referrals import usecases

    referral = sign_up(credits, code, JOAO).body
    offer(placed(store_id, JOAO, "BR-1"))
    due = WHEN + timedelta(days=14)

    assert usecases.reward_due(due - timedelta(seconds=1)).get("rewarded", 0) == 0
    assert usecases.reward(store_id, referral["id"], due) == "rewarded"
    # A second run (a retried job) grants nothing twice: the ledger keys are the referral's.
    usecases.reward(store_id, referral["id"], due)

    body = credits.call("GET", f"/referrals/{referral['id']}").body
    assert (body["status"], body["reason"]) == ("rewarded", "hold-window-passed")
    assert (store_id, referral["id"]) not in usecases.referral_store().due(due)
    # The ledger's wallet view (i8-ledger): balance in the currency asked, lots with origin.
    for customer_id, amount in ((MARIA, "20.00"), (JOAO, "10.00")):
        wallet = credits.call("GET", f"/wallets/{customer_id}?currency=BRL").body
        assert wallet["balance"] == amount
        assert [(lot["kind"], lot["origin"]) for lot in wallet["lots"]] == [
            ("referral", {"referral": referral["id"]})
        ]


def test_a_cancellation_after_the_reward_takes_nothing_back(
    credits: Api,  # noqa: F811 - the fixtures of test_credits_referrals_api
    code: str,  # noqa: F811
    offer: Any,  # noqa: F811
    store_id: str,
) -> None:
    from chalicelib.credits.referrals import usecases

    referral = sign_up(credits, code, JOAO).body
    offer(placed(store_id, JOAO, "BR-1"))
    usecases.reward(store_id, referral["id"], WHEN + timedelta(days=14))

    offer(cancelled(store_id, "BR-1"))

    assert credits.call("GET", f"/referrals/{referral['id']}").body["status"] == "rewarded"
