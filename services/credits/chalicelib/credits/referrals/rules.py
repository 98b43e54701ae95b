"""Refer-a-friend rules that need no AWS: codes and links, fraud checks, the state machine.

A referral is created `pending` (or `flagged` when the sign-up looks like the referrer's own),
becomes `qualified` on the friend's first paid order, and `rewarded` once that order outlives
the programme's hold window; a cancellation or refund in the window voids it. An admin
approves or voids flagged ones. `rewarded` and `voided` are final.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlencode, urlsplit, urlunsplit

# No 0/O, 1/I/L: read aloud or copied from a screen, a code cannot be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
SHARE_PARAMETER = "ref"

# Providers that ignore dots in the local part and deliver `name+tag` to `name`.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Providers that deliver `name+tag` to `name` (dots matter there).
PLUS_TAG_DOMAINS = frozenset(
    {
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "zoho.com",
    }
)
# Two addresses this close (after normalising) are one person more often than not.
SIMILAR_EDIT_DISTANCE = 2
MIN_STEM = 4


class Status(StrEnum):
    PENDING = "pending"
    QUALIFIED = "qualified"
    FLAGGED = "flagged"
    REWARDED = "rewarded"
    VOIDED = "voided"


class Reason(StrEnum):
    """Why a referral is in its status (the last transition's cause)."""

    SIGNED_UP = "signed-up"
    FIRST_ORDER_PAID = "first-order-paid"
    SIMILAR_EMAIL = "similar-email"
    SAME_IP = "same-ip"
    MONTHLY_CAP = "monthly-cap-reached"
    HOLD_WINDOW_PASSED = "hold-window-passed"
    ORDER_CANCELLED = "order-cancelled"
    ORDER_REFUNDED = "order-refunded"
    APPROVED = "approved-by-admin"
    VOIDED_BY_ADMIN = "voided-by-admin"
    FRIEND_DELETED = "friend-deleted"
    # customer.merged: moved to the kept customer, or voided by the merge.
    CUSTOMER_MERGED = "customer-merged"
    SELF_REFERRAL = "self-referral"
    ALREADY_REFERRED = "already-referred"
    EXISTING_CUSTOMER = "existing-customer"


class Refused(StrEnum):
    """Why a sign-up with a code makes no referral at all."""

    SELF_REFERRAL = "self-referral"
    EXISTING_CUSTOMER = "existing-customer"
    ALREADY_REFERRED = "already-referred"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.QUALIFIED, Status.FLAGGED, Status.VOIDED}),
    # Approved before the first order: back to pending; after it: qualified.
    Status.FLAGGED: frozenset({Status.PENDING, Status.QUALIFIED, Status.VOIDED}),
    # The monthly cap, met when the rewards fall due, sends it to review.
    Status.QUALIFIED: frozenset({Status.REWARDED, Status.VOIDED, Status.FLAGGED}),
    Status.REWARDED: frozenset(),
    Status.VOIDED: frozenset(),
}


class InvalidTransition(Exception):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"a {current} referral cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def can_transition(current: Status, wanted: Status) -> bool:
    return wanted in TRANSITIONS[current]


def check_transition(current: Status, wanted: Status) -> None:
    if not can_transition(current, wanted):
        raise InvalidTransition(current, wanted)


def is_final(status: Status) -> bool:
    return not TRANSITIONS[status]


# Codes and links -------------------------------------------------------------------------------


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(value: str) -> str:
    """Codes are read case-insensitively, spaces and hyphens ignored. Raises ValueError."""
    code = re.sub(r"[\s-]", "", value).upper()
    if not CODE_PATTERN.match(code):
        raise ValueError(f"is not a referral code ({CODE_LENGTH} letters and digits)")
    return code


def share_link(base_url: str, code: str) -> str:
    """The store's page with the code as `?ref=`, the other query parameters kept."""
    parts = urlsplit(base_url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({SHARE_PARAMETER: code})))


# Fraud checks ----------------------------------------------------------------------------------


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: case folded; for Gmail dots and `+tags` dropped
    (googlemail.com is gmail.com); `+tags` dropped where the provider ignores them."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
    elif domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def stem(email: str) -> str:
    """The local part without separators and trailing digits: maria.silva87 -> mariasilva."""
    local = mailbox(email).rpartition("@")[0].split("+", 1)[0]
    return re.sub(r"[0-9]+$", "", re.sub(r"[._\-]", "", local))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def similar_emails(a: str, b: str) -> bool:
    """Likely one person's: the same stem, or at most two edits apart at the same provider."""
    box_a, box_b = mailbox(a), mailbox(b)
    if box_a == box_b:
        return True
    stem_a, stem_b = stem(a), stem(b)
    if len(stem_a) >= MIN_STEM and stem_a == stem_b:
        return True
    local_a, _, domain_a = box_a.rpartition("@")
    local_b, _, domain_b = box_b.rpartition("@")
    return (
        domain_a == domain_b
        and min(len(local_a), len(local_b)) >= MIN_STEM
        and edit_distance(local_a, local_b) <= SIMILAR_EDIT_DISTANCE
    )


@dataclass(frozen=True)
class Person:
    """What the fraud checks know of a customer (the credits service's own read model)."""

    customer_id: str
    email: str | None = None
    phone: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A sign-up's outcome: refused (no referral), or the referral's first status and reason."""

    refused: Refused | None
    status: Status | None
    reason: Reason | None


def assess(
    referrer: Person, friend: Person, *, friend_has_ordered: bool, friend_already_referred: bool
) -> Verdict:
    """Refused: self-referral (same customer, mailbox or phone), a customer who already ordered,
    or one another referrer got first. Flagged for review: a similar e-mail or the referrer's IP.
    """
    same_mailbox = bool(
        referrer.email and friend.email and mailbox(referrer.email) == mailbox(friend.email)
    )
    same_phone = bool(referrer.phone and friend.phone and referrer.phone == friend.phone)
    if referrer.customer_id == friend.customer_id or same_mailbox or same_phone:
        return Verdict(Refused.SELF_REFERRAL, None, None)
    if friend_has_ordered:
        return Verdict(Refused.EXISTING_CUSTOMER, None, None)
    if friend_already_referred:
        return Verdict(Refused.ALREADY_REFERRED, None, None)
    if referrer.email and friend.email and similar_emails(referrer.email, friend.email):
        return Verdict(None, Status.FLAGGED, Reason.SIMILAR_EMAIL)
    if referrer.ip and friend.ip and referrer.ip == friend.ip:
        return Verdict(None, Status.FLAGGED, Reason.SAME_IP)
    return Verdict(None, Status.PENDING, Reason.SIGNED_UP)


# Hold window and cap ---------------------------------------------------------------------------


def reward_due_at(paid_at: datetime, hold_days: int) -> datetime:
    return paid_at + timedelta(days=hold_days)


def month_of(at: datetime) -> str:
    """The calendar month (UTC) a reward counts against the referrer's cap in: "2026-11"."""
    return at.astimezone(UTC).strftime("%Y-%m")


def within_cap(rewarded_this_month: int, monthly_cap: int | None) -> bool:
    return monthly_cap is None or rewarded_this_month < monthly_cap


# What the store keeps --------------------------------------------------------------------------


class NoProgramme(Exception):
    pass


class ReferrerNotFound(Exception):
    pass


@dataclass(frozen=True)
class Programme:
    store_id: str
    referrer_reward: Decimal
    friend_reward: Decimal
    currency: str
    expiry_days: int | None
    hold_window_days: int
    monthly_cap: int | None
    share_base_url: str
    updated_at: datetime
    # Every write bumps it; a change names the version it read (If-Match). 0: never set.
    version: int = 1


@dataclass(frozen=True)
class Referrer:
    store_id: str
    customer_id: str
    code: str
    share_link: str
    enrolled_at: datetime
    # Where the referrer enrolled from, for the same-IP check (personal data: never logged).
    ip: str | None = None


class ReferralNotFound(Exception):
    pass


@dataclass(frozen=True)
class Referral:
    store_id: str
    id: str
    referrer_id: str
    friend_id: str
    code: str
    status: Status
    reason: Reason
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    paid_at: datetime | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class Known:
    """The credits service's read model of a customer, for the fraud checks."""

    customer_id: str
    mailbox: str | None
    phone: str | None
    ordered: bool
    deleted: bool


def merged_parties(referral: Referral, merged: frozenset[str], kept_id: str) -> tuple[str, str]:
    """The referrer and friend of a referral once the merged customers are the kept one."""
    referrer = kept_id if referral.referrer_id in merged else referral.referrer_id
    friend = kept_id if referral.friend_id in merged else referral.friend_id
    return referrer, friend


def first_referral_wins(held: Referral, incoming: Referral) -> bool:
    """Whether the referral holding a friend keeps them against one arriving by a merge: a
    rewarded one always, a voided one never, else the one made first."""
    if held.status is Status.REWARDED:
        return True
    if held.status is Status.VOIDED:
        return False
    return (held.created_at, held.id) <= (incoming.created_at, incoming.id)
