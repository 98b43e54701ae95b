"""Ledger rules that need no AWS: lots, entries, spend order, allocation, reversal, expiry.

A wallet (one customer, one currency) is a set of credit **lots** and an append-only list of
**entries**. Every entry carries `balance_after`; nothing is ever edited or deleted, mistakes are
corrected by new entries. `Ledger` applies postings to an in-memory wallet; the store persists
exactly what it computes, so the same code decides in tests and in DynamoDB.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from clientela import money


class LotKind(StrEnum):
    REFERRAL = "referral"
    BONUS = "bonus"
    CASHBACK = "cashback"
    REFUND = "refund"
    MANUAL = "manual"


class EntryType(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    DEBIT_REVERT = "debit_revert"
    EXPIRATION = "expiration"
    ADJUSTMENT = "adjustment"


class LedgerError(Exception):
    """A posting refused by the rules; nothing was changed."""


class InvalidPosting(LedgerError):
    """Bad input for a posting: `field` names what is wrong, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InsufficientCredit(LedgerError):
    """A debit larger than the spendable balance (lots past their expiry do not count)."""

    def __init__(self, spendable: Decimal) -> None:
        super().__init__("insufficient credit")
        self.spendable = spendable


class KeyReused(LedgerError):
    """The idempotency key was used before for a posting with another body."""


class DebitNotFound(LedgerError):
    pass


class OrderClosed(LedgerError):
    """The order this debit would pay was cancelled."""


class CreditLimit(InvalidPosting):
    """A credit that would take the wallet past the store's per-customer limit."""

    def __init__(self, limit: Decimal, room: Decimal, currency: str) -> None:
        super().__init__(
            "amount",
            f"Would pass the store's credit limit of {money.text(limit, currency)} {currency} "
            f"per customer: at most {money.text(room, currency)} more",
        )
        self.limit = limit
        self.room = room


class ReversalTooLarge(LedgerError):
    """A reversal would put back more than the debit took (less what was already reverted)."""

    def __init__(self, revertible: Decimal) -> None:
        super().__init__("reversal larger than what is left to revert")
        self.revertible = revertible


@dataclass(frozen=True)
class Lot:
    lot_id: str
    kind: LotKind
    amount: Decimal
    remaining: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime | None
    origin: Mapping[str, str]
    note: str | None
    # True once an expiration entry took its remaining; a reversal onto it expires it again.
    expired: bool = False
    # True once `credit.expiring` went out for it (once per lot).
    warned: bool = False

    def spendable_at(self, at: datetime) -> bool:
        """Never spend a lot past its expiry, even when the expiry job is late."""
        return (
            not self.expired
            and self.remaining > 0
            and (self.expires_at is None or self.expires_at > at)
        )

    def past_expiry(self, at: datetime) -> bool:
        return self.expired or (self.expires_at is not None and self.expires_at <= at)

    def due_at(self, at: datetime) -> bool:
        return (
            not self.expired
            and self.remaining > 0
            and self.expires_at is not None
            and self.expires_at <= at
        )


@dataclass(frozen=True)
class Take:
    """How much one posting took from (or put back on) one lot."""

    lot_id: str
    amount: Decimal


@dataclass(frozen=True)
class Entry:
    entry_id: str
    type: EntryType
    # Signed: credits and reverts positive, debits and expirations negative.
    amount: Decimal
    currency: str
    balance_after: Decimal
    at: datetime
    key: str
    takes: tuple[Take, ...]
    # The debit a reversal reverts; the lot a credit created.
    debit_id: str | None = None
    lot_id: str | None = None
    kind: LotKind | None = None
    order_id: str | None = None
    note: str | None = None
    # A reversal onto lots that expired meanwhile: the amount that expired again at once.
    reexpired: Decimal = Decimal(0)
    fingerprint: str = ""


def fingerprint(body: Mapping[str, Any]) -> str:
    """What "the same body" means for an idempotency key: a hash of the canonical request."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def adjustment_reason(key: str) -> str:
    """Why an `adjustment` entry was posted, read from its key's prefix (each poster keys its
    own namespace: `merge:` the merge's outflow, `cashback-claw:` a clawback; the API's and
    any other's are the admin's)."""
    if key.startswith("merge:"):
        return "merge"
    if key.startswith("cashback-claw:"):
        return "clawback"
    return "admin"


def spend_order(lots: Iterable[Lot], at: datetime) -> list[Lot]:
    """Soonest-expiring first, then oldest; lots without expiry last. Spendable lots only."""
    usable = [lot for lot in lots if lot.spendable_at(at)]
    return sorted(
        usable,
        key=lambda lot: (
            lot.expires_at is None,
            lot.expires_at or lot.created_at,
            lot.created_at,
            lot.lot_id,
        ),
    )


def spendable(lots: Iterable[Lot], at: datetime) -> Decimal:
    return sum((lot.remaining for lot in lots if lot.spendable_at(at)), Decimal(0))


def allocate(lots: Iterable[Lot], amount: Decimal, at: datetime) -> tuple[Take, ...]:
    """Which lots a debit of `amount` takes from, in spend order. Raises InsufficientCredit."""
    ordered = spend_order(lots, at)
    available = sum((lot.remaining for lot in ordered), Decimal(0))
    if amount > available:
        raise InsufficientCredit(available)
    takes: list[Take] = []
    left = amount
    for lot in ordered:
        if left <= 0:
            break
        taken = min(lot.remaining, left)
        takes.append(Take(lot.lot_id, taken))
        left -= taken
    return tuple(takes)


def reversal_takes(
    debit: Entry, reverted: Sequence[Entry], amount: Decimal | None
) -> tuple[Take, ...]:
    """What a reversal puts back on which lot: never more than the debit took from each.

    `reverted` are the earlier reversals of this debit; `amount` None reverts what is left.
    A partial reversal refills the lots in the opposite of spend order (the last lot taken
    first), so the credit that would have been spent last comes back first.
    """
    left_per_lot: dict[str, Decimal] = {take.lot_id: take.amount for take in debit.takes}
    for entry in reverted:
        for take in entry.takes:
            left_per_lot[take.lot_id] -= take.amount
    revertible = sum(left_per_lot.values(), Decimal(0))
    wanted = revertible if amount is None else amount
    if wanted > revertible:
        raise ReversalTooLarge(revertible)
    takes: list[Take] = []
    left = wanted
    for take in reversed(debit.takes):
        if left <= 0:
            break
        back = min(left_per_lot[take.lot_id], left)
        if back > 0:
            takes.append(Take(take.lot_id, back))
            left -= back
    return tuple(takes)


def check_amount(amount: Decimal, currency: str, *, field: str = "amount") -> Decimal:
    """A positive amount the currency can hold. Raises InvalidPosting naming the field."""
    try:
        money.minor_units(currency)
    except ValueError as exc:
        raise InvalidPosting("currency", str(exc)) from None
    try:
        checked = money.check(money.parse(amount), currency)
    except ValueError as exc:
        raise InvalidPosting(field, str(exc)) from None
    if checked <= 0:
        raise InvalidPosting(field, "must be greater than zero")
    return checked


@dataclass
class Ledger:
    """One wallet (customer and currency) in memory: lots, entries and the keys seen.

    Every method either appends exactly one entry per lot it touches (expiry) or one entry in
    all, or raises and changes nothing.
    """

    currency: str
    lots: dict[str, Lot] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    keys: dict[str, Entry] = field(default_factory=dict)
    # The balance after the last entry (the store loads it with the lots, not the entries).
    balance: Decimal = Decimal(0)

    def _replay(self, key: str, body: Mapping[str, Any]) -> Entry | None:
        seen = self.keys.get(key)
        if seen is None:
            return None
        if seen.fingerprint != fingerprint(body):
            raise KeyReused(key)
        return seen

    def _append(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        self.balance = entry.balance_after
        if entry.key:
            self.keys[entry.key] = entry
        return entry

    def credit(
        self,
        *,
        entry_id: str,
        lot_id: str,
        kind: LotKind,
        amount: Decimal,
        at: datetime,
        expires_at: datetime | None,
        origin: Mapping[str, str],
        note: str | None,
        key: str,
        body: Mapping[str, Any],
    ) -> Entry:
        if (seen := self._replay(key, body)) is not None:
            return seen
        amount = check_amount(amount, self.currency)
        if expires_at is not None and expires_at <= at:
            raise InvalidPosting("expires_at", "must be in the future")
        lot = Lot(lot_id, kind, amount, amount, self.currency, at, expires_at, dict(origin), note)
        self.lots[lot_id] = lot
        return self._append(
            Entry(
                entry_id,
                EntryType.CREDIT,
                amount,
                self.currency,
                self.balance + amount,
                at,
                key,
                (Take(lot_id, amount),),
                lot_id=lot_id,
                kind=kind,
                note=note,
                fingerprint=fingerprint(body),
            )
        )

    def debit(
        self,
        *,
        entry_id: str,
        amount: Decimal,
        at: datetime,
        key: str,
        order_id: str | None,
        body: Mapping[str, Any],
    ) -> Entry:
        if (seen := self._replay(key, body)) is not None:
            return seen
        amount = check_amount(amount, self.currency)
        takes = allocate(self.lots.values(), amount, at)
        for take in takes:
            lot = self.lots[take.lot_id]
            self.lots[take.lot_id] = replace(lot, remaining=lot.remaining - take.amount)
        return self._append(
            Entry(
                entry_id,
                EntryType.DEBIT,
                -amount,
                self.currency,
                self.balance - amount,
                at,
                key,
                takes,
                order_id=order_id,
                fingerprint=fingerprint(body),
            )
        )

    def reversals_of(self, debit_id: str) -> list[Entry]:
        return [
            e for e in self.entries if e.type is EntryType.DEBIT_REVERT and e.debit_id == debit_id
        ]

    def revert(
        self,
        *,
        entry_id: str,
        debit_id: str,
        amount: Decimal | None,
        at: datetime,
        key: str,
        body: Mapping[str, Any],
    ) -> list[Entry]:
        """Puts a debit back on its lots. Returns the revert entry, then one expiration entry
        per lot that had expired meanwhile (their value expires again at once)."""
        if (seen := self._replay(key, body)) is not None:
            return [seen, *(e for e in self.entries if e.debit_id == seen.entry_id)]
        debit = next(
            (e for e in self.entries if e.entry_id == debit_id and e.type is EntryType.DEBIT),
            None,
        )
        if debit is None:
            raise DebitNotFound(debit_id)
        if amount is not None:
            amount = check_amount(amount, self.currency)
        takes = reversal_takes(debit, self.reversals_of(debit_id), amount)
        if not takes:
            raise ReversalTooLarge(Decimal(0))
        total = sum((t.amount for t in takes), Decimal(0))
        gone = [t for t in takes if self.lots[t.lot_id].past_expiry(at)]
        reexpired = sum((t.amount for t in gone), Decimal(0))
        for take in takes:
            lot = self.lots[take.lot_id]
            self.lots[take.lot_id] = replace(lot, remaining=lot.remaining + take.amount)
        revert = self._append(
            Entry(
                entry_id,
                EntryType.DEBIT_REVERT,
                total,
                self.currency,
                self.balance + total,
                at,
                key,
                takes,
                debit_id=debit_id,
                order_id=debit.order_id,
                reexpired=reexpired,
                fingerprint=fingerprint(body),
            )
        )
        # Lots past their expiry expire again at once, each with its own entry that says so
        # (with whatever the late expiry job had not yet taken from them).
        out = [revert]
        for index, take in enumerate(gone):
            lot = self.lots[take.lot_id]
            out.append(self._expire_lot(lot, f"{entry_id}.x{index}", at, because=entry_id))
        return out

    def _expire_lot(
        self,
        lot: Lot,
        entry_id: str,
        at: datetime,
        *,
        because: str | None = None,
    ) -> Entry:
        taken = lot.remaining
        self.lots[lot.lot_id] = replace(lot, remaining=lot.remaining - taken, expired=True)
        return self._append(
            Entry(
                entry_id,
                EntryType.EXPIRATION,
                -taken,
                self.currency,
                self.balance - taken,
                at,
                "",
                (Take(lot.lot_id, taken),),
                lot_id=lot.lot_id,
                kind=lot.kind,
                debit_id=because,
                note="expired again at once after a reversal" if because else None,
            )
        )

    def warn(self, at: datetime, lead: timedelta) -> list[Lot]:
        """Lots that expire within `lead` and were never announced: marked, once per lot.
        (A lot already due is expired instead.)"""
        due = [
            lot
            for lot in self.lots.values()
            if lot.spendable_at(at)
            and not lot.warned
            and lot.expires_at is not None
            and lot.expires_at - lead <= at
        ]
        for lot in due:
            self.lots[lot.lot_id] = replace(lot, warned=True)
        return [self.lots[lot.lot_id] for lot in due]

    def adjust(
        self,
        *,
        entry_id: str,
        lot_id: str,
        amount: Decimal,
        at: datetime,
        key: str,
        note: str,
        origin: Mapping[str, str],
        body: Mapping[str, Any],
    ) -> Entry:
        """An admin's correction as one `adjustment` entry: a positive one is a new `manual`
        lot without expiry; a negative one takes from the lots in spend order, never more than
        is spendable (InsufficientCredit, nothing changes)."""
        if (seen := self._replay(key, body)) is not None:
            return seen
        size = check_amount(abs(amount), self.currency)
        if amount > 0:
            lot = Lot(
                lot_id, LotKind.MANUAL, size, size, self.currency, at, None, dict(origin), note
            )
            self.lots[lot_id] = lot
            takes: tuple[Take, ...] = (Take(lot_id, size),)
        else:
            takes = allocate(self.lots.values(), size, at)
            for take in takes:
                taken = self.lots[take.lot_id]
                self.lots[take.lot_id] = replace(taken, remaining=taken.remaining - take.amount)
        signed = size if amount > 0 else -size
        return self._append(
            Entry(
                entry_id,
                EntryType.ADJUSTMENT,
                signed,
                self.currency,
                self.balance + signed,
                at,
                key,
                takes,
                lot_id=lot_id if amount > 0 else None,
                kind=LotKind.MANUAL if amount > 0 else None,
                note=note,
                fingerprint=fingerprint(body),
            )
        )

    def claw(
        self,
        *,
        entry_id: str,
        lot_id: str,
        amount: Decimal,
        at: datetime,
        key: str,
        note: str,
        body: Mapping[str, Any],
    ) -> Entry | None:
        """An `adjustment` taking back up to `amount` from one lot (a granted cashback whose
        order was cancelled or refunded later): only what is left of it and still spendable,
        never from another lot, never below zero. None: nothing left to take."""
        if (seen := self._replay(key, body)) is not None:
            return seen
        lot = self.lots[lot_id]
        take = min(amount, lot.remaining) if lot.spendable_at(at) else Decimal(0)
        if take <= 0:
            return None
        self.lots[lot_id] = replace(lot, remaining=lot.remaining - take)
        return self._append(
            Entry(
                entry_id,
                EntryType.ADJUSTMENT,
                -take,
                self.currency,
                self.balance - take,
                at,
                key,
                (Take(lot_id, take),),
                lot_id=lot_id,
                kind=lot.kind,
                note=note,
                fingerprint=fingerprint(body),
            )
        )

    def move_out(self, *, entry_id: str, lot_id: str, at: datetime, key: str, note: str) -> Entry:
        """An `adjustment` taking a lot's whole remaining (its value moves to another wallet,
        e.g. a merge). Lots past their expiry stay for the expiry job."""
        lot = self.lots[lot_id]
        if not lot.spendable_at(at):
            raise InvalidPosting("lot", "has nothing that can move")
        self.lots[lot_id] = replace(lot, remaining=Decimal(0))
        return self._append(
            Entry(
                entry_id,
                EntryType.ADJUSTMENT,
                -lot.remaining,
                self.currency,
                self.balance - lot.remaining,
                at,
                key,
                (Take(lot_id, lot.remaining),),
                lot_id=lot_id,
                kind=lot.kind,
                note=note,
                fingerprint=fingerprint({"move": lot_id}),
            )
        )

    def expire(self, at: datetime, new_id: Any) -> list[Entry]:
        """One expiration entry per lot due at `at`, equal to its remaining amount."""
        due = sorted(
            (lot for lot in self.lots.values() if lot.due_at(at)),
            key=lambda lot: (lot.expires_at, lot.lot_id),
        )
        return [self._expire_lot(lot, str(new_id()), at) for lot in due]


def rebuild(entries: Iterable[Entry]) -> tuple[Decimal, dict[str, Decimal]]:
    """Balance and each lot's remaining, recomputed from the entries alone."""
    balance = Decimal(0)
    remaining: dict[str, Decimal] = {}
    for entry in entries:
        balance += entry.amount
        sign = 1 if entry.type in (EntryType.CREDIT, EntryType.DEBIT_REVERT) else -1
        if entry.type is EntryType.ADJUSTMENT:
            sign = 1 if entry.amount > 0 else -1
        for take in entry.takes:
            remaining[take.lot_id] = remaining.get(take.lot_id, Decimal(0)) + sign * take.amount
    return balance, remaining


# The store's totals are kept by the postings themselves (counters updated in each posting's
# transaction), over three nested segments of wallets: every wallet with a balance item, those
# with credit (balance > 0), those with bonus left (bonus > 0 implies balance > 0).
TOTALS = (
    "wallets",
    "with_credit",
    "with_bonus",
    "outstanding",
    "outstanding_bonus",
    "bonus",
    "cashback",
    "cashback_credit",
    "cashback_bonus",
)


@dataclass(frozen=True)
class Standing:
    """What one wallet-currency adds to its store's totals."""

    exists: bool
    balance: Decimal
    bonus: Decimal
    cashback: Decimal

    def totals(self) -> dict[str, Decimal]:
        if not self.exists:
            return dict.fromkeys(TOTALS, Decimal(0))
        credit = self.balance > 0
        bonus = self.bonus > 0
        return {
            "wallets": Decimal(1),
            "with_credit": Decimal(credit),
            "with_bonus": Decimal(bonus),
            "outstanding": self.balance,
            "outstanding_bonus": self.balance if bonus else Decimal(0),
            "bonus": self.bonus,
            "cashback": self.cashback,
            "cashback_credit": self.cashback if credit else Decimal(0),
            "cashback_bonus": self.cashback if bonus else Decimal(0),
        }


def totals_delta(before: Standing, after: Standing) -> dict[str, Decimal]:
    """What a posting adds to the store's counters: summed over every posting of every wallet,
    the counters equal the totals of the wallets as they stand (the sum telescopes)."""
    old, new = before.totals(), after.totals()
    return {name: new[name] - old[name] for name in TOTALS if new[name] != old[name]}


@dataclass(frozen=True)
class SegmentTotals:
    count: int
    outstanding: Decimal
    cashback: Decimal


def segment_totals(
    totals: Mapping[str, Decimal], *, has_credit: bool | None, has_bonus: bool | None
) -> SegmentTotals:
    """The totals of the wallets a `has_active_credit` / `has_bonus` filter keeps, from the
    counters: the segments nest (bonus within credit within all), so every combination is a
    difference of two of them."""
    t = {name: totals.get(name, Decimal(0)) for name in TOTALS}
    segments = {
        "all": (t["wallets"], t["outstanding"], t["cashback"]),
        "credit": (t["with_credit"], t["outstanding"], t["cashback_credit"]),
        "bonus": (t["with_bonus"], t["outstanding_bonus"], t["cashback_bonus"]),
        "none": (Decimal(0), Decimal(0), Decimal(0)),
    }
    # (inside, minus): the filter keeps the wallets of `inside` that are not in `minus`.
    shape = {
        (None, None): ("all", "none"),
        (True, None): ("credit", "none"),
        (False, None): ("all", "credit"),
        (None, True): ("bonus", "none"),
        (None, False): ("all", "bonus"),
        (True, True): ("bonus", "none"),
        (True, False): ("credit", "bonus"),
        (False, True): ("none", "none"),
        (False, False): ("all", "credit"),
    }[(has_credit, has_bonus)]
    inside, minus = segments[shape[0]], segments[shape[1]]
    return SegmentTotals(int(inside[0] - minus[0]), inside[1] - minus[1], inside[2] - minus[2])
