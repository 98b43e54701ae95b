"""The ledger's rules, property-based: any sequence of postings keeps the books right."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)

from chalicelib.credits.ledger.rules import (
    EntryType,
    InsufficientCredit,
    InvalidPosting,
    KeyReused,
    Ledger,
    Lot,
    LotKind,
    ReversalTooLarge,
    allocate,
    rebuild,
    spend_order,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
cents = st.integers(min_value=1, max_value=50_000).map(lambda n: Decimal(n).scaleb(-2))


class LedgerMachine(RuleBasedStateMachine):
    """Credits, debits, reverts, expiries and merges on two wallets, against the invariants."""

    debits = Bundle("debits")
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.wallets = {"a": Ledger("BRL"), "b": Ledger("BRL")}
        self.now = T0
        self.ids = itertools.count()
        self.expired_value = Decimal(0)
        self.bodies: dict[str, dict[str, object]] = {}

    def new_id(self) -> str:
        return f"e{next(self.ids):06d}"

    @rule(
        target=keys,
        wallet=st.sampled_from(["a", "b"]),
        kind=st.sampled_from(list(LotKind)),
        amount=cents,
        days=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    )
    def credit(self, wallet: str, kind: LotKind, amount: Decimal, days: int | None) -> str:
        key = f"credit-{self.new_id()}"
        expires = None if days is None else self.now + timedelta(days=days)
        body = {"kind": kind, "amount": amount, "expires_at": expires}
        self.bodies[key] = body
        entry = self.wallets[wallet].credit(
            entry_id=self.new_id(),
            lot_id=self.new_id(),
            kind=kind,
            amount=amount,
            at=self.now,
            expires_at=expires,
            origin={"admin": "t"},
            note=None,
            key=key,
            body=body,
        )
        assert entry.amount == amount
        return f"{wallet}|{key}|{amount}"

    @rule(seen=keys)
    def replay_credit(self, seen: str) -> None:
        """The same key with the same body answers the first entry; another body is refused."""
        wallet, key, _ = seen.split("|")
        ledger = self.wallets[wallet]
        first = ledger.keys[key]
        count = len(ledger.entries)
        again = ledger.credit(
            entry_id=self.new_id(),
            lot_id=self.new_id(),
            kind=LotKind.MANUAL,
            amount=Decimal(1),
            at=self.now,
            expires_at=None,
            origin={},
            note=None,
            key=key,
            body=self.bodies[key],
        )
        assert again is first
        with pytest.raises(KeyReused):
            ledger.credit(
                entry_id=self.new_id(),
                lot_id=self.new_id(),
                kind=LotKind.MANUAL,
                amount=Decimal(1),
                at=self.now,
                expires_at=None,
                origin={},
                note=None,
                key=key,
                body={"different": True},
            )
        assert len(ledger.entries) == count

    @rule(target=debits, wallet=st.sampled_from(["a", "b"]), amount=cents)
    def debit(self, wallet: str, amount: Decimal) -> object:
        ledger = self.wallets[wallet]
        before = (ledger.balance, dict(ledger.lots), len(ledger.entries))
        key = f"debit-{self.new_id()}"
        try:
            entry = ledger.debit(
                entry_id=self.new_id(),
                amount=amount,
                at=self.now,
                key=key,
                order_id=None,
                body={"amount": amount},
            )
        except InsufficientCredit as refused:
            short = refused.spendable
            assert short < amount
            assert (ledger.balance, dict(ledger.lots), len(ledger.entries)) == before
            return multiple()
        # Never from a lot past its expiry, even if the expiry job has not run.
        for take in entry.takes:
            lot = before[1][take.lot_id]
            assert lot.expires_at is None or lot.expires_at > self.now
            assert take.amount <= lot.remaining
        assert -entry.amount == amount == sum(t.amount for t in entry.takes)
        replay = ledger.debit(
            entry_id=self.new_id(),
            amount=amount,
            at=self.now,
            key=key,
            order_id=None,
            body={"amount": amount},
        )
        assert replay is entry
        return f"{wallet}|{entry.entry_id}"

    @rule(debit=debits, fraction=st.sampled_from([None, Decimal("0.5"), Decimal(1)]))
    def revert(self, debit: str, fraction: Decimal | None) -> None:
        wallet, debit_id = debit.split("|")
        ledger = self.wallets[wallet]
        taken = -next(e for e in ledger.entries if e.entry_id == debit_id).amount
        amount = None if fraction is None else (taken * fraction).quantize(Decimal("0.01"))
        if amount is not None and amount <= 0:
            return
        balance = ledger.balance
        past = {lot.lot_id for lot in ledger.lots.values() if lot.past_expiry(self.now)}
        try:
            entries = ledger.revert(
                entry_id=self.new_id(),
                debit_id=debit_id,
                amount=amount,
                at=self.now,
                key=f"revert-{self.new_id()}",
                body={"debit": debit_id, "amount": amount},
            )
        except ReversalTooLarge:
            reverted = sum(e.amount for e in ledger.reversals_of(debit_id))
            assert amount is None or reverted + amount > taken
            return
        revert, *again = entries
        assert revert.type is EntryType.DEBIT_REVERT
        # Only what goes back on lots past their expiry expires again; a live lot keeps it.
        assert revert.reexpired == sum(
            (t.amount for t in revert.takes if t.lot_id in past), Decimal(0)
        )
        assert {e.lot_id for e in again} == {t.lot_id for t in revert.takes if t.lot_id in past}
        # Revert then expire conserves value: what came back on expired lots expires at once.
        expired_again = -sum((e.amount for e in again), Decimal(0))
        assert expired_again >= revert.reexpired
        assert all(e.type is EntryType.EXPIRATION and e.debit_id == revert.entry_id for e in again)
        assert ledger.balance == balance + revert.amount - expired_again
        self.expired_value += expired_again
        # Never more than was debited, per lot and in all.
        assert sum(e.amount for e in ledger.reversals_of(debit_id)) <= taken

    @rule(days=st.integers(min_value=0, max_value=30))
    def advance_and_expire(self, days: int) -> None:
        self.now += timedelta(days=days)
        for ledger in self.wallets.values():
            due = {
                lot.lot_id: lot.remaining for lot in ledger.lots.values() if lot.due_at(self.now)
            }
            entries = ledger.expire(self.now, self.new_id)
            assert {e.lot_id: -e.amount for e in entries} == due
            assert ledger.expire(self.now, self.new_id) == []  # once per lot
            self.expired_value += sum(due.values(), Decimal(0))

    @rule()
    def advance_without_expiring(self) -> None:
        """The expiry job is late: debits must still skip lots past their date."""
        self.now += timedelta(days=7)

    @rule(wallet=st.sampled_from(["a", "b"]), amount=cents, up=st.booleans())
    def adjust(self, wallet: str, amount: Decimal, up: bool) -> None:
        """An admin's adjustment: up, a new lot; down, taken in spend order, never overdrawn."""
        ledger = self.wallets[wallet]
        before = (ledger.balance, dict(ledger.lots), len(ledger.entries))
        signed = amount if up else -amount
        try:
            entry = ledger.adjust(
                entry_id=self.new_id(),
                lot_id=self.new_id(),
                amount=signed,
                at=self.now,
                key=f"adjust-{self.new_id()}",
                note="t",
                origin={"admin": "t"},
                body={"amount": signed},
            )
        except InsufficientCredit:
            assert not up
            assert (ledger.balance, dict(ledger.lots), len(ledger.entries)) == before
            return
        assert entry.amount == signed == ledger.balance - before[0]
        assert sum(t.amount for t in entry.takes) == amount
        for take in entry.takes:
            if not up:
                lot = before[1][take.lot_id]
                assert lot.expires_at is None or lot.expires_at > self.now

    @rule(source=st.sampled_from(["a", "b"]))
    def merge(self, source: str) -> None:
        """A merge moves each lot's remaining to the kept wallet with its expiry: a debit-like
        entry on one side and a credit with the same expiry on the other."""
        kept = "b" if source == "a" else "a"
        src, dst = self.wallets[source], self.wallets[kept]
        total = src.balance + dst.balance
        merge = self.new_id()  # one key per lot and merge: a lot may move, come back, move again
        for lot in spend_order(src.lots.values(), self.now):
            entry = src.debit(
                entry_id=self.new_id(),
                amount=lot.remaining,
                at=self.now,
                key=f"merge-out-{merge}-{lot.lot_id}",
                order_id=None,
                body={"merge": lot.lot_id},
            )
            assert [t.lot_id for t in entry.takes] == [lot.lot_id]
            dst.credit(
                entry_id=self.new_id(),
                lot_id=self.new_id(),
                kind=lot.kind,
                amount=lot.remaining,
                at=self.now,
                expires_at=lot.expires_at,
                origin={"merged_from": lot.lot_id},
                note=None,
                key=f"merge-in-{merge}-{lot.lot_id}",
                body={"merge": lot.lot_id},
            )
        # Past-due lots not yet expired stay behind for the expiry job.
        assert src.balance + dst.balance == total

    @invariant()
    def books_balance(self) -> None:
        for ledger in self.wallets.values():
            assert ledger.balance >= 0
            assert ledger.balance == sum((e.amount for e in ledger.entries), Decimal(0))
            assert ledger.balance == sum(
                (lot.remaining for lot in ledger.lots.values()), Decimal(0)
            )
            for lot in ledger.lots.values():
                assert Decimal(0) <= lot.remaining <= lot.amount
            for entry, before in zip(ledger.entries[1:], ledger.entries, strict=False):
                assert entry.balance_after == before.balance_after + entry.amount

    @invariant()
    def rebuilt_from_entries(self) -> None:
        for ledger in self.wallets.values():
            balance, remaining = rebuild(ledger.entries)
            assert balance == ledger.balance
            assert remaining == {lot_id: lot.remaining for lot_id, lot in ledger.lots.items()}

    @invariant()
    def one_entry_per_key(self) -> None:
        for ledger in self.wallets.values():
            keys = [e.key for e in ledger.entries if e.key]
            assert len(keys) == len(set(keys))

    @invariant()
    def value_is_conserved(self) -> None:
        credited = sum(
            e.amount
            for ledger in self.wallets.values()
            for e in ledger.entries
            if e.type is EntryType.CREDIT and not e.key.startswith("merge-in")
        )
        spent = sum(
            -e.amount
            for ledger in self.wallets.values()
            for e in ledger.entries
            if e.type is EntryType.DEBIT and not e.key.startswith("merge-out")
        )
        reverted = sum(
            e.amount
            for ledger in self.wallets.values()
            for e in ledger.entries
            if e.type is EntryType.DEBIT_REVERT
        )
        adjusted = sum(
            e.amount
            for ledger in self.wallets.values()
            for e in ledger.entries
            if e.type is EntryType.ADJUSTMENT
        )
        held = sum(ledger.balance for ledger in self.wallets.values())
        assert held == credited - spent + reverted + adjusted - self.expired_value


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def lot(lot_id: str, remaining: str, created: int, expires: int | None) -> Lot:
    return Lot(
        lot_id,
        LotKind.BONUS,
        Decimal(remaining),
        Decimal(remaining),
        "BRL",
        T0 + timedelta(days=created),
        None if expires is None else T0 + timedelta(days=expires),
        {},
        None,
    )


def test_spend_order_soonest_expiry_then_oldest_then_no_expiry() -> None:
    lots = [
        lot("forever-old", "5", 0, None),
        lot("late", "5", 1, 30),
        lot("soon-new", "5", 3, 10),
        lot("soon-old", "5", 2, 10),
        lot("forever-new", "5", 4, None),
    ]
    order = [x.lot_id for x in spend_order(lots, T0 + timedelta(days=5))]
    assert order == ["soon-old", "soon-new", "late", "forever-old", "forever-new"]


def test_a_debit_never_takes_a_lot_past_its_expiry_even_before_the_job_runs() -> None:
    lots = [lot("past", "100", 0, 5), lot("ok", "10", 0, None)]
    with pytest.raises(InsufficientCredit) as refused:
        allocate(lots, Decimal(20), T0 + timedelta(days=5))
    assert refused.value.spendable == Decimal(10)


def test_a_debit_spans_lots_in_spend_order() -> None:
    lots = [lot("b", "3", 0, None), lot("a", "4", 0, 2)]
    takes = allocate(lots, Decimal(5), T0)
    assert [(t.lot_id, t.amount) for t in takes] == [("a", Decimal(4)), ("b", Decimal(1))]


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("1.001", "BRL", "amount"),
        ("1.5", "JPY", "amount"),
        ("0", "BRL", "amount"),
        ("1", "XYZ", "currency"),
    ],
)
def test_amounts_the_currency_cannot_hold_are_refused(
    amount: str, currency: str, field: str
) -> None:
    ledger = Ledger(currency)
    with pytest.raises(InvalidPosting) as refused:
        ledger.credit(
            entry_id="e",
            lot_id="l",
            kind=LotKind.BONUS,
            amount=Decimal(amount),
            at=T0,
            expires_at=None,
            origin={},
            note=None,
            key="k",
            body={},
        )
    assert refused.value.field == field
    assert ledger.entries == [] and ledger.lots == {}


def test_an_expiry_in_the_past_is_refused() -> None:
    with pytest.raises(InvalidPosting) as refused:
        Ledger("BRL").credit(
            entry_id="e",
            lot_id="l",
            kind=LotKind.BONUS,
            amount=Decimal(1),
            at=T0,
            expires_at=T0 - timedelta(seconds=1),
            origin={},
            note=None,
            key="k",
            body={},
        )
    assert refused.value.field == "expires_at"


def test_a_reversal_onto_an_expired_lot_expires_again_at_once() -> None:
    ledger = Ledger("KWD")
    ledger.credit(
        entry_id="c1",
        lot_id="l1",
        kind=LotKind.CASHBACK,
        amount=Decimal("1.500"),
        at=T0,
        expires_at=T0 + timedelta(days=1),
        key="c1",
        origin={},
        note=None,
        body={},
    )
    ledger.credit(
        entry_id="c2",
        lot_id="l2",
        kind=LotKind.BONUS,
        amount=Decimal("1"),
        at=T0,
        expires_at=None,
        key="c2",
        origin={},
        note=None,
        body={},
    )
    ledger.debit(entry_id="d", amount=Decimal("2"), at=T0, key="d", order_id="o1", body={})
    ledger.expire(T0 + timedelta(days=2), iter(["x"]).__next__)  # nothing left on l1
    revert, again = ledger.revert(
        entry_id="r", debit_id="d", amount=None, at=T0 + timedelta(days=2), key="r", body={}
    )
    assert revert.amount == Decimal(2) and revert.reexpired == Decimal("1.500")
    assert again.type is EntryType.EXPIRATION and again.amount == Decimal("-1.500")
    assert again.note and "again" in again.note
    assert ledger.balance == Decimal("1.000")
