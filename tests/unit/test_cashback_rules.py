"""The cashback arithmetic: percent of the total, rounded down, reduced by refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.credits.programmes.rules import (
    PendingCashback,
    Reason,
    Status,
    cashback_amount,
    follow_order,
)

WHEN = datetime(2026, 11, 23, tzinfo=UTC)
totals = st.decimals(min_value=0, max_value=10**9, places=2)
percents = st.decimals(min_value=Decimal("0.0001"), max_value=100, places=4)


@given(totals, percents)
def test_the_cashback_is_the_percent_rounded_down_and_never_more_than_the_total(
    total: Decimal, percent: Decimal
) -> None:
    amount = cashback_amount(total, percent, "BRL")
    assert amount == amount.quantize(Decimal("0.01"))
    assert 0 <= total * percent / 100 - amount < Decimal("0.01")
    assert amount <= total


def test_yen_have_no_minor_units() -> None:
    assert cashback_amount(Decimal(999), Decimal("2.5"), "JPY") == Decimal(24)


def _pending(total: Decimal, percent: Decimal) -> PendingCashback:
    return PendingCashback(
        store_id="s",
        customer_id="c",
        order_id="o",
        currency="BRL",
        total=total,
        percent=percent,
        amount=cashback_amount(total, percent, "BRL"),
        status=Status.PENDING,
        reason=Reason.ORDER_PLACED,
        placed_at=WHEN,
        due_at=WHEN + timedelta(days=14),
        expiry_days=None,
        updated_at=WHEN,
    )


@given(totals, percents, st.lists(st.decimals(min_value=0, max_value=10**9, places=2)))
def test_refunds_reduce_it_proportionally_in_any_order(
    total: Decimal, percent: Decimal, refunds: list[Decimal]
) -> None:
    cashback = _pending(total, percent)
    assume(cashback.amount > 0)  # placements with nothing to give are voided at once
    by_id: dict[str, Decimal | None] = {f"r{i}": r for i, r in enumerate(refunds)}
    after = follow_order(cashback, cancelled=False, refunds=by_id, at=WHEN)
    reverse = dict(reversed(list(by_id.items())))
    assert follow_order(cashback, cancelled=False, refunds=reverse, at=WHEN) == after
    kept = max(total - sum(refunds, Decimal(0)), Decimal(0))
    assert after.amount == (cashback_amount(kept, percent, "BRL") if kept > 0 else 0)
    assert after.amount <= cashback.amount
    assert (after.status is Status.VOIDED) == (after.amount == 0)
    # A redelivered refund changes nothing.
    assert follow_order(after, cancelled=False, refunds=by_id, at=WHEN) == after


def test_a_cancellation_voids_and_a_granted_cashback_stays() -> None:
    cashback = _pending(Decimal(100), Decimal(5))
    voided = follow_order(cashback, cancelled=True, refunds={}, at=WHEN)
    assert (voided.status, voided.reason) == (Status.VOIDED, Reason.ORDER_CANCELLED)
    granted = PendingCashback(**{**cashback.__dict__, "status": Status.GRANTED})
    assert follow_order(granted, cancelled=True, refunds={}, at=WHEN) == granted


def test_a_full_refund_without_an_amount_voids() -> None:
    after = follow_order(
        _pending(Decimal(100), Decimal(5)), cancelled=False, refunds={"r": None}, at=WHEN
    )
    assert (after.status, after.reason) == (Status.VOIDED, Reason.ORDER_REFUNDED)
