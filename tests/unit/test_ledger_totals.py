"""The store's totals as counters: the postings' deltas add up to the wallets' standings, and
every `has_active_credit` / `has_bonus` combination is read exactly from them."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.credits.ledger.rules import (
    TOTALS,
    Standing,
    segment_totals,
    totals_delta,
)

amounts = st.decimals(min_value=0, max_value=1000, places=2)


@st.composite
def standings(draw: st.DrawFn) -> Standing:
    balance = draw(amounts)
    # Bonus left is part of the balance.
    bonus = draw(st.decimals(min_value=0, max_value=balance, places=2))
    return Standing(True, balance, bonus, draw(amounts))


@given(st.lists(st.lists(standings(), min_size=1, max_size=6), max_size=8))
def test_the_deltas_of_every_posting_add_up_to_the_standings(
    histories: list[list[Standing]],
) -> None:
    counters = dict.fromkeys(TOTALS, Decimal(0))
    for history in histories:
        before = Standing(False, Decimal(0), Decimal(0), Decimal(0))
        for after in history:
            for name, value in totals_delta(before, after).items():
                counters[name] += value
            before = after
    finals = [history[-1] for history in histories]
    for has_credit in (None, True, False):
        for has_bonus in (None, True, False):
            kept = [
                w
                for w in finals
                if (has_credit is None or (w.balance > 0) == has_credit)
                and (has_bonus is None or (w.bonus > 0) == has_bonus)
            ]
            got = segment_totals(counters, has_credit=has_credit, has_bonus=has_bonus)
            assert got.count == len(kept)
            assert got.outstanding == sum((w.balance for w in kept), Decimal(0))
            assert got.cashback == sum((w.cashback for w in kept), Decimal(0))
