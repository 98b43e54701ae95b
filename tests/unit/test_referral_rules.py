"""Refer-a-friend rules, with no AWS in sight: codes, fraud checks, the state machine."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.credits.referrals import rules
from chalicelib.credits.referrals.rules import Person, Reason, Refused, Status

locals_ = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
tags = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=0, max_size=8)


@given(local=locals_, tag=tags, dots=st.lists(st.integers(0, 12), max_size=3), upper=st.booleans())
def test_gmail_dots_tags_and_case_reach_one_mailbox(
    local: str, tag: str, dots: list[int], upper: bool
) -> None:
    dotted = local
    for position in sorted(set(dots), reverse=True):
        if 0 < position < len(dotted):
            dotted = dotted[:position] + "." + dotted[position:]
    variant = f"{dotted}+{tag}@googlemail.com" if tag else f"{dotted}@gmail.com"

    assert rules.mailbox(variant.upper() if upper else variant) == f"{local}@gmail.com"


@given(local=locals_, tag=tags)
def test_plus_tags_are_dropped_where_the_provider_ignores_them(local: str, tag: str) -> None:
    assert rules.mailbox(f"{local}+{tag}@Outlook.com") == f"{local}@outlook.com"


def test_elsewhere_dots_and_tags_are_the_address() -> None:
    assert rules.mailbox("Maria.Silva+x@Example.com") == "maria.silva+x@example.com"
    assert rules.mailbox("m.silva@outlook.com") != rules.mailbox("msilva@outlook.com")


@given(a=st.text(max_size=10), b=st.text(max_size=10), c=st.text(max_size=10))
def test_edit_distance_is_a_metric(a: str, b: str, c: str) -> None:
    assert rules.edit_distance(a, a) == 0
    assert rules.edit_distance(a, b) == rules.edit_distance(b, a)
    assert rules.edit_distance(a, c) <= rules.edit_distance(a, b) + rules.edit_distance(b, c)
    assert abs(len(a) - len(b)) <= rules.edit_distance(a, b) <= max(len(a), len(b))


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("maria.silva@example.com", "maria.silva87@other.org", True),  # same stem
        ("mariasilva@example.com", "mariasilvaa@example.com", True),  # one edit
        ("mariasilva@example.com", "mariasilvaa@other.org", False),  # one edit, elsewhere
        ("ana@example.com", "ane@example.com", False),  # too short to tell
        ("maria@example.com", "joao.pereira@example.com", False),
    ],
)
def test_similar_emails(a: str, b: str, similar: bool) -> None:
    assert rules.similar_emails(a, b) is similar
    assert rules.similar_emails(b, a) is similar


REFERRER = Person("C1", "maria.silva@gmail.com", "+5511987654321", "203.0.113.7")


def verdict(friend: Person, *, ordered: bool = False, referred: bool = False) -> rules.Verdict:
    return rules.assess(
        REFERRER, friend, friend_has_ordered=ordered, friend_already_referred=referred
    )


@pytest.mark.parametrize(
    "friend",
    [
        Person("C1", "other@example.com"),
        Person("C2", "Maria.Silva+friend@googlemail.com"),
        Person("C2", "joao@example.com", "+5511987654321"),
    ],
)
def test_self_referral_is_refused(friend: Person) -> None:
    assert verdict(friend).refused is Refused.SELF_REFERRAL


def test_an_existing_customer_cannot_be_referred_and_the_first_referrer_wins() -> None:
    friend = Person("C2", "joao@example.com")

    assert verdict(friend, ordered=True).refused is Refused.EXISTING_CUSTOMER
    assert verdict(friend, referred=True).refused is Refused.ALREADY_REFERRED


def test_look_alikes_are_flagged_for_review_not_refused() -> None:
    similar = verdict(Person("C2", "maria.silva2@example.com"))
    same_ip = verdict(Person("C3", "joao@example.com", ip="203.0.113.7"))

    assert (similar.refused, similar.status, similar.reason) == (
        None,
        Status.FLAGGED,
        Reason.SIMILAR_EMAIL,
    )
    assert (same_ip.status, same_ip.reason) == (Status.FLAGGED, Reason.SAME_IP)
    assert verdict(Person("C4", "joao@example.com")).status is Status.PENDING


@given(
    referrer=st.builds(Person, st.sampled_from(["A", "B"]), st.none() | st.emails()),
    friend=st.builds(Person, st.sampled_from(["A", "B"]), st.none() | st.emails()),
    ordered=st.booleans(),
    referred=st.booleans(),
)
def test_a_verdict_is_either_a_refusal_or_a_status_with_its_reason(
    referrer: Person, friend: Person, ordered: bool, referred: bool
) -> None:
    result = rules.assess(
        referrer, friend, friend_has_ordered=ordered, friend_already_referred=referred
    )

    assert (result.refused is None) == (result.status is not None) == (result.reason is not None)
    if referrer.customer_id == friend.customer_id:
        assert result.refused is Refused.SELF_REFERRAL
    if result.status is not None:
        assert result.status in (Status.PENDING, Status.FLAGGED)


def test_the_state_machine() -> None:
    assert rules.can_transition(Status.PENDING, Status.QUALIFIED)
    assert rules.can_transition(Status.QUALIFIED, Status.REWARDED)
    assert rules.can_transition(Status.QUALIFIED, Status.VOIDED)
    assert not rules.can_transition(Status.PENDING, Status.REWARDED)  # never without an order
    assert not rules.can_transition(Status.FLAGGED, Status.REWARDED)  # never without review
    with pytest.raises(rules.InvalidTransition):
        rules.check_transition(Status.VOIDED, Status.PENDING)


@given(st.lists(st.sampled_from(list(Status)), max_size=12))
def test_walking_the_machine_final_states_stay_final_and_reward_needs_qualifying(
    wanted: list[Status],
) -> None:
    status = Status.PENDING
    history = [status]
    for target in wanted:
        if rules.can_transition(status, target):
            status = target
            history.append(status)
    for before, after in itertools.pairwise(history):
        assert not rules.is_final(before)
        if after is Status.REWARDED:
            assert before is Status.QUALIFIED
    assert history.count(Status.REWARDED) <= 1


@given(st.text(alphabet=rules.CODE_ALPHABET, min_size=8, max_size=8))
def test_codes_read_back_whatever_the_case_and_separators(code: str) -> None:
    spaced = f"{code[:4].lower()}-{code[4:]}"
    assert rules.normalise_code(spaced) == code


def test_generated_codes_are_unambiguous_and_valid() -> None:
    codes = {rules.generate_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(rules.normalise_code(code) == code for code in codes)
    assert not any(set(code) & set("01OIL") for code in codes)


def test_the_share_link_keeps_the_page_s_query() -> None:
    assert rules.share_link("https://shop.example/", "ABCD2345") == (
        "https://shop.example/?ref=ABCD2345"
    )
    assert rules.share_link("https://shop.example/p?lang=pt", "ABCD2345") == (
        "https://shop.example/p?lang=pt&ref=ABCD2345"
    )


@given(
    st.datetimes(max_value=datetime(9000, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001 - bounds are naive
    st.integers(0, 365),
)
def test_the_reward_falls_due_after_the_hold_window(paid: datetime, days: int) -> None:
    assert rules.reward_due_at(paid, days) - paid == timedelta(days=days)


def test_the_monthly_cap_counts_rewards_of_the_utc_month() -> None:
    assert rules.within_cap(2, 3)
    assert not rules.within_cap(3, 3)
    assert rules.within_cap(10**6, None)
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=3)))
    assert rules.month_of(late) == "2026-11"
