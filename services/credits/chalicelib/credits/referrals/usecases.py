"""What the refer-a-friend area does, one function per use case."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.credits.ledger.usecases import grant
from chalicelib.credits.programmes.store import StaleVersion
from chalicelib.credits.programmes.usecases import PreconditionRequired
from chalicelib.credits.referrals import rules
from chalicelib.credits.referrals.rules import (
    InvalidTransition,
    NoProgramme,
    Person,
    Programme,
    Reason,
    Referral,
    ReferralNotFound,
    Referrer,
    ReferrerNotFound,
    Refused,
    Status,
)
from chalicelib.credits.referrals.store import (
    AlreadyEnrolled,
    CapReached,
    CodeTaken,
    FriendTaken,
    ReferralRecords,
    StaleStatus,
)
from chalicelib.credits.settings import settings
from clientela import aws
from clientela.events import OutgoingEvent
from clientela.ids import new_id
from clientela_events.referrals import ReferralV1

log = logging.getLogger(__name__)
EVENT_ID_NAMESPACE = uuid.UUID("8d2b6c1e-4f3a-4e59-a7b0-1c2d3e4f5a6b")

_CODE_ATTEMPTS = 5


def referral_store() -> ReferralRecords:
    return ReferralRecords(aws.dynamodb(), settings().table)


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
    versions: frozenset[int] | None,
) -> Programme:
    """Replaces the store's programme if the version read (`versions`, from If-Match) is
    current, as `/credits/settings`: None (no If-Match) only while the store has none; an
    empty set (`*`): any version. Raises PreconditionRequired or StaleVersion (programmes).
    Referrals keep the terms they were created under only in so far as their rewards are
    granted with the programme of the day they fall due."""
    found = referral_store().get_programme(store_id)
    current = found.version if found else 0
    if versions is None and current > 0:
        raise PreconditionRequired
    if versions and current not in versions:
        raise StaleVersion(current)
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
        version=current + 1,
    )
    referral_store().put_programme(programme, current)
    return programme


def get_programme(store_id: str) -> Programme:
    programme = referral_store().get_programme(store_id)
    if programme is None:
        raise NoProgramme
    return programme


def enrol(store_id: str, customer_id: str, ip: str | None = None) -> tuple[Referrer, bool]:
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
        ip=ip,
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


def referrer_ids(store_id: str, *, after: str | None, limit: int) -> list[str]:
    """A page of the store's referrers (customer ids, ascending, past `after`)."""
    return referral_store().referrer_ids(store_id, after=after, limit=limit)


def get_referrer(store_id: str, customer_id: str) -> Referrer:
    referrer = referral_store().get_referrer(store_id, customer_id)
    if referrer is None:
        raise ReferrerNotFound
    return referrer


# Referrals ------------------------------------------------------------------------------------


class SignUpRefused(Exception):
    def __init__(self, reason: Refused) -> None:
        super().__init__(reason.value)
        self.reason = reason


class UnknownCode(Exception):
    pass


def referral_event(referral: Referral) -> OutgoingEvent:
    """The referral's step as `referral.<status>` (`referral.created` for a new pending one),
    published from the table's stream (`publishing`) with an id derived from the step."""
    event_type = f"referral.{referral.status.value}"
    if referral.status is Status.PENDING and referral.reason is Reason.SIGNED_UP:
        event_type = "referral.created"
    step = f"{referral.store_id}|{referral.id}|{referral.status}|{referral.reason}"
    if referral.reason is Reason.CUSTOMER_MERGED:  # one referral can be moved more than once
        step += f"|{referral.referrer_id}|{referral.friend_id}"
    return OutgoingEvent(
        event_type,
        1,
        uuid.uuid5(EVENT_ID_NAMESPACE, step),
        referral.store_id,
        referral.updated_at,
        ReferralV1(
            referral_id=referral.id,
            referrer_id=referral.referrer_id,
            friend_id=referral.friend_id,
            status=referral.status.value,
            reason=referral.reason.value,
            order_id=referral.order_id,
            at=referral.updated_at,
        ),
    )


def _person(store_id: str, customer_id: str, ip: str | None) -> Person:
    known = referral_store().known(store_id, customer_id)
    return Person(customer_id, known.mailbox, known.phone, ip)


def refer(store_id: str, *, code: str, friend_id: str, ip: str | None) -> tuple[Referral, bool]:
    """A new customer signed up with a referrer's code: (the referral, whether new).

    The same sign-up again answers the referral it made. Raises UnknownCode, NoProgramme or
    SignUpRefused (self-referral, an existing customer, another referrer was first).
    """
    store = referral_store()
    referrer_id = store.referrer_of_code(store_id, code)
    if referrer_id is None:
        raise UnknownCode
    get_programme(store_id)
    previous = store.of_friend(store_id, friend_id)
    if previous is not None:
        if previous.referrer_id == referrer_id:
            return previous, False
        raise SignUpRefused(Refused.ALREADY_REFERRED)
    referrer = store.get_referrer(store_id, referrer_id)
    friend = store.known(store_id, friend_id)
    verdict = rules.assess(
        _person(store_id, referrer_id, referrer.ip if referrer else None),
        Person(friend_id, friend.mailbox, friend.phone, ip),
        friend_has_ordered=friend.ordered,
        friend_already_referred=False,
    )
    if verdict.refused is not None:
        raise SignUpRefused(verdict.refused)
    assert verdict.status is not None
    assert verdict.reason is not None
    at = now()
    referral = Referral(
        store_id=store_id,
        id=new_id(),
        referrer_id=referrer_id,
        friend_id=friend_id,
        code=code,
        status=verdict.status,
        reason=verdict.reason,
        created_at=at,
        updated_at=at,
    )
    try:
        store.create(referral)
    except FriendTaken:
        winner = store.of_friend(store_id, friend_id)
        if winner is not None and winner.referrer_id == referrer_id:
            return winner, False
        raise SignUpRefused(Refused.ALREADY_REFERRED) from None
    return referral, True


def get_referral(store_id: str, referral_id: str) -> Referral:
    referral = referral_store().get(store_id, referral_id)
    if referral is None:
        raise ReferralNotFound
    return referral


def referrals_of(
    store_id: str,
    referrer_id: str | None,
    *,
    status: Status | None,
    limit: int,
    after: str | None,
) -> tuple[list[Referral], str | None]:
    """A page of referrals, newest first: a referrer's (of any status or one), or the store's
    of one status (the review queue). The second is the id to continue after, if more follow."""
    if referrer_id is not None:
        return referral_store().of_referrer(
            store_id, referrer_id, status=status, limit=limit, after=after
        )
    assert status is not None  # the query model requires one of the two
    return referral_store().by_status(store_id, status, limit=limit, before=after)


def _step(
    referral: Referral,
    status: Status,
    reason: Reason,
    *,
    extra: list[dict[str, Any]] | None = None,
    due: bool | None = None,
    **changes: Any,
) -> Referral:
    """Moves the referral along the state machine, atomically with `extra` (the stream
    publishes the step)."""
    rules.check_transition(referral.status, status)
    moved = replace(referral, status=status, reason=reason, updated_at=now(), **changes)
    referral_store().change(moved, referral.status, extra=extra, due=due)
    return moved


def approve(store_id: str, referral_id: str) -> Referral:
    """A flagged referral goes on: qualified if the friend's first order came, else pending."""
    referral = get_referral(store_id, referral_id)
    if referral.status is not Status.FLAGGED:
        raise InvalidTransition(referral.status, Status.PENDING)
    if referral.order_id is None:
        return _step(referral, Status.PENDING, Reason.APPROVED)
    return _step(referral, Status.QUALIFIED, Reason.APPROVED, due=True)


def void(store_id: str, referral_id: str) -> Referral:
    """The admin voids a referral that is not rewarded yet."""
    referral = get_referral(store_id, referral_id)
    return _step(referral, Status.VOIDED, Reason.VOIDED_BY_ADMIN, due=False)


def _qualify(store_id: str, friend_id: str, order_id: str, paid_at: Any) -> str:
    store = referral_store()
    referral = store.of_friend(store_id, friend_id)
    if referral is None or referral.order_id is not None:
        return "no-referral" if referral is None else "not-first-order"
    if referral.status not in (Status.PENDING, Status.FLAGGED):
        return "ignored"
    tied = store.order(store_id, order_id)
    if tied is not None and "undone" in tied:
        # The cancellation or refund overtook the order: the referral never qualifies.
        _step(referral, Status.VOIDED, Reason(tied["undone"]), order_id=order_id)
        return "voided"
    programme = store.get_programme(store_id)
    hold = programme.hold_window_days if programme else 14
    order_fields = {
        "order_id": order_id,
        "paid_at": paid_at,
        "due_at": rules.reward_due_at(paid_at, hold),
    }
    tie = [store.order_item(store_id, order_id, referral.id)]
    try:
        if referral.status is Status.FLAGGED:
            # Still under review: the order is recorded, the rewards wait for the admin.
            moved = replace(referral, updated_at=now(), **order_fields)
            store.change(moved, Status.FLAGGED, extra=tie)
        else:
            _step(
                referral,
                Status.QUALIFIED,
                Reason.FIRST_ORDER_PAID,
                extra=tie,
                due=True,
                **order_fields,
            )
    except (StaleStatus, CapReached):
        return "already-done"
    return "qualified"


def _undo(store_id: str, order_id: str, reason: Reason) -> str:
    store = referral_store()
    tied = store.order(store_id, order_id)
    if tied is None:
        store.tombstone(store_id, order_id, reason)
        return "remembered"
    if "referral_id" not in tied:
        return "ignored"
    referral = store.get(store_id, tied["referral_id"])
    if referral is None or rules.is_final(referral.status):
        # Rewarded: the order outlived the hold window; what was granted stays granted.
        return "final"
    try:
        _step(referral, Status.VOIDED, reason, due=False)
    except StaleStatus:
        return "already-done"
    return "voided"


FOLLOWED_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "order.placed",
    "order.cancelled",
    "order.refunded",
)


def _follow_customer(store_id: str, data: Any) -> str:
    from clientela_events.customers import CustomerCreatedV1, CustomerDeletedV1, CustomerUpdatedV1  # noqa: PLC0415

    store = referral_store()
    if isinstance(data, CustomerCreatedV1 | CustomerUpdatedV1):
        customer = data.customer if isinstance(data, CustomerCreatedV1) else data.new
        if customer.email:
            store.put_known(
                store_id,
                customer.id,
                mailbox=rules.mailbox(customer.email),
                phone=customer.phone,
                version=customer.version,
            )
        return "known"
    if isinstance(data, CustomerDeletedV1):
        store.forget_known(store_id, data.customer_id)
        return "forgotten"
    return "ignored"


def follow_event(store_id: str, data: Any) -> str:
    """Keeps the customers' read model and the referrals in step with customer and order
    events. Every step is conditional, so a redelivered or late event changes nothing."""
    # Here, not at the top: the referral schedule and the stream publisher import this module
    # and need no customer or storefront contract (the event consumers have them loaded).
    from clientela_events.storefront import OrderCancelledV1, OrderPlacedV1, OrderRefundedV1  # noqa: PLC0415

    store = referral_store()
    if isinstance(data, OrderPlacedV1):
        if data.customer_id is None:
            return "guest"
        outcome = _qualify(store_id, data.customer_id, data.order_id, data.placed_at)
        store.mark_ordered(store_id, data.customer_id)
        return outcome
    if isinstance(data, OrderCancelledV1):
        return _undo(store_id, data.order_id, Reason.ORDER_CANCELLED)
    if isinstance(data, OrderRefundedV1):
        return _undo(store_id, data.order_id, Reason.ORDER_REFUNDED)
    return _follow_customer(store_id, data)


# Merges ---------------------------------------------------------------------------------------


def follow_merge(store_id: str, merged_ids: list[str], kept_id: str) -> dict[str, int]:
    """customer.merged: the merged customers' codes resolve to the kept customer (who takes the
    first-enrolled one as theirs if they had none), and their open referrals (pending,
    qualified, flagged), as referrer or as friend, follow to the kept customer. A referral
    between the kept and a merged customer (or two merged ones) is voided `self-referral`; a
    friend the kept customer already is keeps one referral, the first (`already-referred`);
    a pending referral whose friend becomes a customer who already ordered is voided
    `existing-customer`. Rewarded and voided referrals stay as they were (history). Every
    write is conditional on what was read: a redelivery finds nothing left to do."""
    store = referral_store()
    merged = [m for m in dict.fromkeys(merged_ids) if m != kept_id]
    group = frozenset(merged)
    codes = 0
    referrers = [r for m in merged if (r := store.get_referrer(store_id, m)) is not None]
    for referrer in sorted(referrers, key=lambda r: (r.enrolled_at, r.customer_id)):
        try:
            store.hand_over(referrer, store.get_referrer(store_id, kept_id), kept_id)
            codes += 1
        except StaleStatus:
            continue  # handed over already (a redelivery), or raced: the next delivery sees
    open_ = (Status.PENDING, Status.QUALIFIED, Status.FLAGGED)
    seen: dict[str, Referral] = {}
    for customer_id in merged:
        after: str | None = None
        while True:
            page, after = store.of_referrer(
                store_id, customer_id, status=None, limit=100, after=after
            )
            seen.update((r.id, r) for r in page if r.status in open_)
            if after is None:
                break
        as_friend = store.of_friend(store_id, customer_id)
        if as_friend is not None and as_friend.status in open_:
            seen[as_friend.id] = as_friend
    outcomes = {"moved": 0, "voided": 0}
    # Oldest first: of two referrals of one friend, the first made is the one that stays.
    for referral in sorted(seen.values(), key=lambda r: (r.created_at, r.id)):
        outcome = _merge_referral(store_id, referral, group, kept_id)
        if outcome in outcomes:
            outcomes[outcome] += 1
    return {"codes": codes, **outcomes}


def _void_for_merge(referral: Referral, reason: Reason) -> str:
    try:
        _step(referral, Status.VOIDED, reason, due=False)
    except StaleStatus:
        return "already-done"
    return "voided"


def _merge_referral(store_id: str, referral: Referral, group: frozenset[str], kept_id: str) -> str:
    store = referral_store()
    current = store.get(store_id, referral.id)  # the one read from the index may be stale
    if current is None or rules.is_final(current.status):
        return "final"
    referrer_id, friend_id = rules.merged_parties(current, group, kept_id)
    if (referrer_id, friend_id) == (current.referrer_id, current.friend_id):
        return "unchanged"
    if referrer_id == friend_id:
        return _void_for_merge(current, Reason.SELF_REFERRAL)
    lock_from = None
    if friend_id != current.friend_id:
        verdict = _new_friend(store_id, current, friend_id)
        if verdict is not None and verdict[0] != "lock":
            return verdict[0]
        lock_from = verdict[1] if verdict else None
    moved = replace(
        current,
        referrer_id=referrer_id,
        friend_id=friend_id,
        reason=Reason.CUSTOMER_MERGED,
        updated_at=now(),
    )
    try:
        store.move(moved, current, lock_from=lock_from)
    except (StaleStatus, FriendTaken):
        return "already-done"
    return "moved"


def _new_friend(store_id: str, referral: Referral, friend_id: str) -> tuple[str, str] | None:
    """Whether the referral may follow its friend to `friend_id`: None (yes, a fresh lock),
    ("lock", referral id) (yes, taking over the lock of that referral, now voided), or the
    outcome when it may not (voided: the first referral wins, or the friend already ordered)."""
    store = referral_store()
    if referral.order_id is None and store.known(store_id, friend_id).ordered:
        return (_void_for_merge(referral, Reason.EXISTING_CUSTOMER), "")
    held = store.of_friend(store_id, friend_id)
    taken: tuple[str, str] | None = None
    if held is not None and held.id != referral.id:
        if rules.first_referral_wins(held, referral):
            return (_void_for_merge(referral, Reason.ALREADY_REFERRED), "")
        if not rules.is_final(held.status):
            outcome = _void_for_merge(held, Reason.ALREADY_REFERRED)
            if outcome != "voided":
                return (outcome, "")
        taken = ("lock", held.id)
    return taken


# Rewards --------------------------------------------------------------------------------------


def _reward(
    store_id: str,
    customer_id: str,
    *,
    amount: Decimal,
    currency: str,
    expires_at: datetime | None,
    referral_id: str,
    role: str,
) -> None:
    """Grants one side's reward through the ledger, idempotent on the referral and the side."""
    grant(
        store_id,
        customer_id,
        kind="referral",
        amount=amount,
        currency=currency,
        expires_at=expires_at,
        origin={"referral": referral_id},
        note=f"Refer-a-friend reward ({role})",
        key=f"referral:{referral_id}:{role}",
    )


def reward(store_id: str, referral_id: str, at: datetime) -> str:
    """A qualified referral past its hold window: counted against the referrer's monthly cap
    and marked rewarded in one transaction, then both rewards granted (idempotent keys). Past
    the cap: flagged for review instead. Off the due list only once both grants are done."""
    store = referral_store()
    referral = store.get(store_id, referral_id)
    if referral is None or referral.due_at is None or referral.due_at > at:
        return "not-due"
    programme = store.get_programme(store_id)
    if programme is None:
        return "no-programme"
    if referral.status is Status.QUALIFIED:
        cap = store.cap_item(
            store_id, referral.referrer_id, rules.month_of(at), programme.monthly_cap
        )
        try:
            referral = _step(referral, Status.REWARDED, Reason.HOLD_WINDOW_PASSED, extra=[cap])
        except CapReached:
            _step(referral, Status.FLAGGED, Reason.MONTHLY_CAP, due=False)
            return "capped"
        except StaleStatus:
            return "already-done"
    if referral.status is not Status.REWARDED:
        return "ignored"
    expires_at = at + timedelta(days=programme.expiry_days) if programme.expiry_days else None
    for role, customer_id, amount in (
        ("referrer", referral.referrer_id, programme.referrer_reward),
        ("friend", referral.friend_id, programme.friend_reward),
    ):
        if amount > 0:
            _reward(
                store_id,
                customer_id,
                amount=amount,
                currency=programme.currency,
                expires_at=expires_at,
                referral_id=referral.id,
                role=role,
            )
    store.off_due_list(store_id, referral.id)
    return "rewarded"


def reward_due(at: datetime) -> dict[str, int]:
    """The scheduled job: every referral whose hold window has passed, in every store."""
    outcomes: dict[str, int] = {}
    for store_id, referral_id in referral_store().due(at):
        try:
            outcome = reward(store_id, referral_id, at)
        except Exception as exc:  # one referral's failure never stops the others'
            # It stays on the due list: the next run tries it again (the grants are idempotent).
            log.warning(
                "referral reward failed",
                extra={"referral_id": referral_id, "error_type": type(exc).__name__},
            )
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
