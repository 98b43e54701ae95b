"""What the ledger does, one function per use case."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from chalicelib.credits.ledger.rules import (
    CreditLimit,
    DebitNotFound,
    Entry,
    EntryType,
    InvalidPosting,
    KeyReused,
    Ledger,
    LedgerError,
    Lot,
    LotKind,
    OrderClosed,
    ReversalTooLarge,
    adjustment_reason,
    check_amount,
    fingerprint,
    spendable,
)
from chalicelib.credits.ledger.store import (
    LISTINGS,
    Change,
    CheckFailed,
    Conflict,
    KeyTaken,
    LedgerStore,
    WalletFilters,
    WalletState,
    summarise,
)
from chalicelib.credits.programmes.rules import StoreSettings
from chalicelib.credits.programmes.store import ProgrammeStore
from chalicelib.credits.settings import settings
from chalicelib.credits.wallets.rules import WalletNotFound, WalletStatus
from chalicelib.credits.wallets.usecases import wallet_store
from clientela import aws, money
from clientela.events import OutgoingEvent
from clientela.idempotency import idempotent
from clientela.ids import is_id, new_id
from clientela.retry import back_off
from clientela_events.credits import (
    CreditAdjustedV1,
    CreditExpiredV1,
    CreditExpiringV1,
    CreditGrantedV1,
    CreditRevertedV1,
    CreditSpentV1,
)

# Optimistic concurrency: a posting that lost the race reads the wallet again and retries.
MAX_ATTEMPTS = 60


class Busy(LedgerError):
    """The wallet kept changing under this posting: try again later (nothing was written)."""


def event_id(store_id: str, customer_id: str, entry_id: str) -> UUID:
    """One event id per entry, whoever publishes it and however often: consumers dedupe."""
    return uuid5(NAMESPACE_URL, f"clientela:credits:{store_id}:{customer_id}:{entry_id}")


def entry_event(
    store_id: str, customer_id: str, entry: Entry, expires_at: datetime | None
) -> OutgoingEvent | None:
    """The event an entry stands for (`publishing`, from the table's stream)."""
    data: Any
    if entry.type is EntryType.ADJUSTMENT:
        data = CreditAdjustedV1(
            customer_id=customer_id,
            entry_id=entry.entry_id,
            reason=adjustment_reason(entry.key),
            direction="added" if entry.amount > 0 else "taken",
            amount=abs(entry.amount),
            currency=entry.currency,
            lot_id=entry.lot_id,
            kind=entry.kind.value if entry.kind else None,
            note=entry.note,
            balance_after=entry.balance_after,
        )
        return OutgoingEvent(
            "credit.adjusted",
            1,
            event_id(store_id, customer_id, entry.entry_id),
            store_id,
            entry.at,
            data,
        )
    kind = {
        EntryType.CREDIT: "credit.granted",
        EntryType.DEBIT: "credit.spent",
        EntryType.DEBIT_REVERT: "credit.reverted",
        EntryType.EXPIRATION: "credit.expired",
    }[entry.type]
    common = {
        "customer_id": customer_id,
        "entry_id": entry.entry_id,
        "amount": abs(entry.amount),
        "currency": entry.currency,
        "balance_after": entry.balance_after,
    }
    if entry.type is EntryType.CREDIT:
        data = CreditGrantedV1(
            **common, kind=(entry.kind or LotKind.MANUAL).value, expires_at=expires_at
        )
    elif entry.type is EntryType.DEBIT:
        data = CreditSpentV1(**common, order_id=entry.order_id)
    elif entry.type is EntryType.DEBIT_REVERT:
        data = CreditRevertedV1(
            **common,
            debit_id=entry.debit_id or "",
            order_id=entry.order_id,
            reexpired=entry.reexpired,
        )
    else:
        data = CreditExpiredV1(**common)
    return OutgoingEvent(
        kind, 1, event_id(store_id, customer_id, entry.entry_id), store_id, entry.at, data
    )


@dataclass(frozen=True)
class Posting:
    """The result of a posting: its entries (the first is the posting's own; a reversal onto
    expired lots is followed by their expiration entries), the lot it created (grants), the
    wallet's balance after it, and whether it is the first result replayed for a key seen
    before."""

    entry: Entry
    lot: Lot | None
    balance: Decimal
    replayed: bool
    also: tuple[Entry, ...] = ()


def ledger_store() -> LedgerStore:
    return LedgerStore(aws.dynamodb(), settings().table)


def now() -> datetime:
    return datetime.now(UTC)


def store_settings(store_id: str) -> StoreSettings:
    """The store's credits settings (PUT /credits/settings); the deployment's defaults for a
    store that never set them (version 0)."""
    found = ProgrammeStore(aws.dynamodb(), settings().table).get_settings(store_id)
    if found is not None:
        return found
    return StoreSettings(
        default_currency=settings().default_currency,
        expiring_lead_days=settings().expiring_lead_days,
    )


def _open_wallet(store_id: str, customer_id: str) -> None:
    wallet = wallet_store().get(store_id, customer_id) if is_id(customer_id) else None
    if wallet is None or wallet.status is not WalletStatus.OPEN:
        raise WalletNotFound


def _currency(currency: str) -> str:
    try:
        money.minor_units(currency)
    except ValueError as exc:
        raise InvalidPosting("currency", str(exc)) from None
    return currency


def _replay(
    store: LedgerStore, store_id: str, customer_id: str, key: str, print_: str
) -> Posting | None:
    record = store.key_record(store_id, customer_id, key)
    if record is None:
        return None
    if record.fingerprint != print_:
        raise KeyReused(key)
    entries = [store.entry(store_id, customer_id, record.currency, i) for i in record.entry_ids]
    found = [e for e in entries if e is not None]
    lot = None
    if found[0].lot_id is not None and found[0].type is EntryType.CREDIT:
        lot = store.load(store_id, customer_id, record.currency).lots.get(found[0].lot_id)
    return Posting(found[0], lot, found[-1].balance_after, True, tuple(found[1:]))


def _post(
    store_id: str,
    customer_id: str,
    currency: str,
    *,
    key: str,
    print_: str,
    apply: Callable[[Ledger, WalletState], list[Entry]],
    reversal_of: str | None = None,
    extra: Callable[[list[Entry]], list[dict[str, Any]]] | None = None,
    checks: Sequence[dict[str, Any]] = (),
) -> tuple[list[Entry], Ledger]:
    """Reads the wallet, applies the rules, writes the result if nobody posted meanwhile."""
    store = ledger_store()
    lead = store_settings(store_id).expiring_lead
    for attempt in range(MAX_ATTEMPTS):
        state = store.load(store_id, customer_id, currency)
        if state.settling is not None:
            store.settle(store_id, customer_id, currency, state.settling)
            continue
        ledger = Ledger(currency, lots=dict(state.lots), balance=state.balance)
        entries = apply(ledger, state)
        changed = [lot for lot_id, lot in ledger.lots.items() if state.lots.get(lot_id) != lot]
        if not entries and not changed:
            return entries, ledger
        summary = summarise(list(ledger.lots.values()), state.cashback, entries, lead)
        try:
            change = Change(entries, changed, key, print_, reversal_of=reversal_of)
            change.extra = extra(entries) if extra else []
            change.checks = list(checks)
            store.commit(state, change, summary)
        except KeyTaken:
            raise _KeyRace from None
        except Conflict:
            back_off(min(attempt, 4))
            continue
        return entries, ledger
    raise Busy


class _KeyRace(Exception):
    """A concurrent posting with the same key won: answer its result."""


def _with_replay(
    store_id: str, customer_id: str, key: str, print_: str, run: Callable[[], Posting]
) -> Posting:
    store = ledger_store()
    for _ in range(2):
        if (seen := _replay(store, store_id, customer_id, key, print_)) is not None:
            return seen
        try:
            return run()
        except _KeyRace:
            continue
    raise Busy


def grant(
    store_id: str,
    customer_id: str,
    *,
    kind: str,
    amount: Decimal,
    currency: str,
    expires_at: datetime | None,
    origin: dict[str, str],
    note: str | None,
    key: str,
    limited: bool = False,
) -> Posting:
    """Credits a new lot to the customer's wallet in `currency`, as one `credit` entry.

    `limited` (the admin's grants): refused with `CreditLimit` if it would take the wallet past
    the store's per-customer `credit_limit` (in its default currency). Programme rewards
    (cashback, referrals) and merges are not limited: they were earned or already held.

    Idempotent on `key` (per customer): the same key with the same body (kind, amount,
    currency, expires_at, origin, note) returns the first `Posting` (with `replayed=True`);
    another body raises `KeyReused`.

    Returns `Posting` (entry: `rules.Entry` of type credit, lot: the new `rules.Lot`,
    balance: the wallet's balance after it, replayed).

    Raises (all from `chalicelib.credits.ledger.rules`, none changes anything):
    - `WalletNotFound` (`chalicelib.credits.wallets.rules`): the customer has no wallet in this
      store, or it is closed;
    - `InvalidPosting(field, reason)`: kind unknown, amount not positive or with more decimals
      than the currency has, currency not ISO 4217, expires_at not in the future;
    - `KeyReused`: the key was used for another body;
    - `Busy` (this module): the wallet kept changing under it (retry later; nothing written).

    `credit.granted` goes out from the table's stream (`chalicelib.credits.publishing`).
    """
    try:
        lot_kind = LotKind(kind)
    except ValueError:
        raise InvalidPosting("kind", f"must be one of {', '.join(LotKind)}") from None
    amount = check_amount(amount, _currency(currency))
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidPosting("expires_at", "must carry a time zone")
    body = {
        "op": "credit",
        "kind": lot_kind.value,
        "amount": money.text(money.parse(amount), None),
        "currency": currency,
        "expires_at": expires_at.astimezone(UTC).isoformat() if expires_at else None,
        "origin": dict(sorted(origin.items())),
        "note": note,
    }
    print_ = fingerprint(body)
    _open_wallet(store_id, customer_id)
    limit = _limit(store_id, currency) if limited else None

    def run() -> Posting:
        lot_id = new_id()

        def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
            _check_limit(ledger, amount, limit)
            return [
                ledger.credit(
                    entry_id=new_id(),
                    lot_id=lot_id,
                    kind=lot_kind,
                    amount=amount,
                    at=now(),
                    expires_at=expires_at,
                    origin=origin,
                    note=note,
                    key=key,
                    body=body,
                )
            ]

        entries, ledger = _post(
            store_id, customer_id, currency, key=key, print_=print_, apply=apply
        )
        return Posting(entries[0], ledger.lots[lot_id], ledger.balance, False)

    return _with_replay(store_id, customer_id, key, print_, run)


def _limit(store_id: str, currency: str) -> Decimal | None:
    found = store_settings(store_id)
    return found.credit_limit if found.default_currency == currency else None


def _check_limit(ledger: Ledger, amount: Decimal, limit: Decimal | None) -> None:
    """Against the balance the posting commits on (its version is the transaction's
    condition), so concurrent grants can never pass the limit together."""
    if limit is not None and ledger.balance + amount > limit:
        raise CreditLimit(limit, max(limit - ledger.balance, Decimal(0)), ledger.currency)


def adjust(
    store_id: str,
    customer_id: str,
    *,
    amount: Decimal,
    currency: str,
    note: str,
    key: str,
    origin: dict[str, str] | None = None,
) -> Posting:
    """An admin's correction, positive (a new `manual` lot, within the store's credit limit)
    or negative (taken from the lots in spend order, never overdrawing), as one `adjustment`
    entry. Idempotent on key.

    Raises WalletNotFound, InvalidPosting (zero, decimals, currency; CreditLimit),
    InsufficientCredit (nothing changes), KeyReused, Busy."""
    currency = _currency(currency)
    size = check_amount(abs(amount), currency)
    signed = size if amount > 0 else -size
    body = {
        "op": "adjust",
        "amount": money.text(money.parse(signed), None),
        "currency": currency,
        "note": note,
    }
    print_ = fingerprint(body)
    _open_wallet(store_id, customer_id)
    limit = _limit(store_id, currency) if signed > 0 else None

    def run() -> Posting:
        lot_id = new_id()

        def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
            if signed > 0:
                _check_limit(ledger, signed, limit)
            return [
                ledger.adjust(
                    entry_id=new_id(),
                    lot_id=lot_id,
                    amount=signed,
                    at=now(),
                    key=key,
                    note=note,
                    origin=origin or {"admin": "api"},
                    body=body,
                )
            ]

        entries, ledger = _post(
            store_id, customer_id, currency, key=key, print_=print_, apply=apply
        )
        return Posting(entries[0], ledger.lots.get(lot_id), ledger.balance, False)

    return _with_replay(store_id, customer_id, key, print_, run)


def claw_back(
    store_id: str, customer_id: str, *, grant_key: str, amount: Decimal, key: str, note: str
) -> Decimal:
    """Takes back up to `amount` from the lot the grant keyed `grant_key` made, as one
    `adjustment` entry keyed `key`: only what is left of that lot (what was spent stays spent).
    Returns what was taken (0: nothing left, or no such grant). Idempotent on `key`."""
    store = ledger_store()
    record = store.key_record(store_id, customer_id, grant_key)
    granted = record and store.entry(store_id, customer_id, record.currency, record.entry_ids[0])
    if not granted or granted.lot_id is None:
        return Decimal(0)
    lot_id, currency = granted.lot_id, granted.currency
    body = {"op": "claw", "lot": lot_id, "amount": money.text(money.parse(amount), None)}
    print_ = fingerprint(body)

    def run() -> Posting:
        def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
            made = ledger.claw(
                entry_id=new_id(),
                lot_id=lot_id,
                amount=amount,
                at=now(),
                key=key,
                note=note,
                body=body,
            )
            return [made] if made else []

        entries, ledger = _post(
            store_id, customer_id, currency, key=key, print_=print_, apply=apply
        )
        if not entries:
            raise _NothingLeft
        return Posting(entries[0], None, ledger.balance, False)

    try:
        return -_with_replay(store_id, customer_id, key, print_, run).entry.amount
    except _NothingLeft:
        return Decimal(0)


class _NothingLeft(Exception):
    """The lot has nothing spendable left to take back."""


def debit(
    store_id: str,
    customer_id: str,
    *,
    amount: Decimal,
    currency: str,
    order_id: str | None,
    key: str,
) -> Posting:
    """Spends `amount` from the lots in spend order, as one `debit` entry. Idempotent on key.

    Raises WalletNotFound, InvalidPosting, InsufficientCredit (nothing changes), KeyReused, Busy.
    """
    amount = check_amount(amount, _currency(currency))
    body = {
        "op": "debit",
        "amount": money.text(money.parse(amount), None),
        "currency": currency,
        "order_id": order_id,
    }
    print_ = fingerprint(body)
    _open_wallet(store_id, customer_id)
    store = ledger_store()

    def run() -> Posting:
        def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
            return [
                ledger.debit(
                    entry_id=new_id(),
                    amount=amount,
                    at=now(),
                    key=key,
                    order_id=order_id,
                    body=body,
                )
            ]

        try:
            entries, ledger = _post(
                store_id,
                customer_id,
                currency,
                key=key,
                print_=print_,
                apply=apply,
                extra=lambda made: (
                    [store.order_debit_item(store_id, order_id, customer_id, made[0])]
                    if order_id is not None
                    else []
                ),
                # Checked in the debit's own transaction, not read before it: a cancellation
                # landing between the read and the write cannot let the debit slip through.
                checks=[store.order_open_check(store_id, order_id)] if order_id else [],
            )
        except CheckFailed:
            raise OrderClosed(order_id or "") from None
        return Posting(entries[0], None, ledger.balance, False)

    return _with_replay(store_id, customer_id, key, print_, run)


def find_debit(store_id: str, customer_id: str, debit_id: str) -> Entry:
    store = ledger_store()
    if is_id(debit_id):
        for item in store.balances(store_id, customer_id):
            entry = store.entry(store_id, customer_id, item["currency"]["S"], debit_id)
            if entry is not None and entry.type is EntryType.DEBIT:
                return entry
    raise DebitNotFound(debit_id)


def revert(
    store_id: str, customer_id: str, debit_id: str, *, amount: Decimal | None, key: str
) -> Posting:
    """Puts (part of) a debit back on the lots it came from: one `debit_revert` entry, then an
    `expiration` entry per lot that expired meanwhile. Never more than the debit took.

    Raises WalletNotFound, DebitNotFound, InvalidPosting, ReversalTooLarge, KeyReused, Busy.
    """
    wallet = wallet_store().get(store_id, customer_id) if is_id(customer_id) else None
    if wallet is None:
        raise WalletNotFound
    taken = find_debit(store_id, customer_id, debit_id)
    currency = taken.currency
    if amount is not None:
        amount = check_amount(amount, currency)
    body = {
        "op": "revert",
        "debit_id": debit_id,
        "amount": None if amount is None else money.text(money.parse(amount), None),
    }
    print_ = fingerprint(body)
    store = ledger_store()

    def run() -> Posting:
        def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
            ledger.entries.append(taken)
            ledger.entries.extend(store.reversals(store_id, customer_id, currency, debit_id))
            return ledger.revert(
                entry_id=new_id(),
                debit_id=debit_id,
                amount=amount,
                at=now(),
                key=key,
                body=body,
            )

        entries, ledger = _post(
            store_id,
            customer_id,
            currency,
            key=key,
            print_=print_,
            apply=apply,
            reversal_of=debit_id,
        )
        return Posting(entries[0], None, ledger.balance, False, tuple(entries[1:]))

    return _with_replay(store_id, customer_id, key, print_, run)


def expire_wallet(store_id: str, customer_id: str, currency: str, at: datetime) -> list[Entry]:
    """One `expiration` entry per lot due at `at`, and `credit.expiring` once per lot that
    expires within the lead time. Safe to run twice: nothing is due or announced twice."""
    lead = store_settings(store_id).expiring_lead
    warned: list[Lot] = []

    def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
        warned[:] = ledger.warn(at, lead)
        return ledger.expire(at, new_id)

    store = ledger_store()
    state = store.load(store_id, customer_id, currency)
    probe = Ledger(currency, lots=dict(state.lots), balance=state.balance)
    if not probe.warn(at, lead) and not any(lot.due_at(at) for lot in state.lots.values()):
        return []
    entries, _ledger = _post(store_id, customer_id, currency, key="", print_="", apply=apply)
    return entries


def expiring_event(store_id: str, customer_id: str, lot: Lot, at: datetime) -> OutgoingEvent:
    """`credit.expiring` of a lot the expiry job marked warned (`publishing`, from the stream)."""
    assert lot.expires_at is not None  # only lots with an expiry are warned
    data = CreditExpiringV1(
        customer_id=customer_id,
        lot_id=lot.lot_id,
        kind=lot.kind.value,
        remaining=lot.remaining,
        currency=lot.currency,
        expires_at=lot.expires_at,
    )
    return OutgoingEvent(
        "credit.expiring",
        1,
        event_id(store_id, customer_id, f"{lot.lot_id}.expiring"),
        store_id,
        at,
        data,
    )


def expire_due(at: datetime | None = None) -> dict[str, int]:
    """The scheduled job: expires every lot due by `at` (now), wallet by wallet."""
    when = at or now()
    wallets = lots = 0
    for store_id, customer_id, currency in ledger_store().due(when):
        entries = expire_wallet(store_id, customer_id, currency, when)
        wallets += 1 if entries else 0
        lots += len(entries)
    return {"wallets": wallets, "lots": lots}


@dataclass(frozen=True)
class BalanceView:
    currency: str
    balance: Decimal
    spendable: Decimal
    bonus: Decimal
    cashback: Decimal
    next_expiry: datetime | None


@dataclass(frozen=True)
class WalletDetail:
    customer_id: str
    status: WalletStatus
    opened_at: datetime | None
    closed_at: datetime | None
    currency: str
    balances: list[BalanceView]
    lots: list[Lot]
    entries: list[Entry]
    next_after: str | None


def _balance_view(item: Mapping[str, Any], lots: list[Lot], at: datetime) -> BalanceView:
    currency = item["currency"]["S"]
    mine = [lot for lot in lots if lot.currency == currency]
    return BalanceView(
        currency=currency,
        balance=money.quantize(Decimal(item["balance"]["N"]), currency),
        spendable=money.quantize(spendable(mine, at), currency),
        bonus=money.quantize(Decimal(item["bonus"]["N"]), currency),
        cashback=money.quantize(Decimal(item["cashback"]["N"]), currency),
        next_expiry=datetime.fromisoformat(item["next_expiry"]["S"])
        if "next_expiry" in item
        else None,
    )


def get_wallet(
    store_id: str,
    customer_id: str,
    *,
    currency: str | None,
    types: list[str],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: str | None,
) -> WalletDetail:
    """The wallet: balances per currency, lots, and a page of the ledger (newest first)."""
    wallet = wallet_store().get(store_id, customer_id) if is_id(customer_id) else None
    if wallet is None:
        raise WalletNotFound
    store = ledger_store()
    items = store.balances(store_id, customer_id)
    # A large debit committed but not yet settled on its lots (a crash in between): finish it
    # first, so the lots shown agree with the balance.
    unsettled = [item for item in items if "settling" in item]
    for item in unsettled:
        store.settle(store_id, customer_id, item["currency"]["S"], item["settling"]["S"])
    if unsettled:
        items = store.balances(store_id, customer_id)
    lots = store.lots(store_id, customer_id)
    at = now()
    balances = [_balance_view(item, lots, at) for item in items]
    shown = currency or (
        balances[0].currency if len(balances) == 1 else store_settings(store_id).default_currency
    )
    if not any(b.currency == shown for b in balances):
        zero = money.quantize(Decimal(0), shown)
        balances.append(BalanceView(shown, zero, zero, zero, zero, None))
    entries, next_after = store.entries_page(
        store_id,
        customer_id,
        currency=shown,
        limit=limit,
        after=after,
        types=types,
        since=since,
        until=until,
    )
    return WalletDetail(
        customer_id=customer_id,
        status=wallet.status,
        opened_at=wallet.opened_at,
        closed_at=wallet.closed_at,
        currency=shown,
        balances=sorted(balances, key=lambda b: b.currency != shown),
        lots=sorted(lots, key=lambda lot: lot.lot_id, reverse=True),
        entries=entries,
        next_after=next_after,
    )


@dataclass(frozen=True)
class WalletRowView:
    customer_id: str
    currency: str
    balance: Decimal
    bonus: Decimal
    cashback: Decimal
    next_expiry: datetime | None


def _row(item: Mapping[str, Any], currency: str) -> WalletRowView:
    view = _balance_view(item, [], now())
    return WalletRowView(
        item["customer_id"]["S"],
        currency,
        view.balance,
        view.bonus,
        view.cashback,
        view.next_expiry,
    )


def default_sort(filters: WalletFilters) -> str:
    """Without a sort asked, the listing reads the index that serves its narrowest filter as a
    key range, so a filter never means reading every wallet of the store."""
    if filters.expiring_before is not None:
        return "next_expiry"
    if filters.cashback_at_least is not None:
        return "-cashback"
    if filters.has_bonus:
        return "-bonus"
    if filters.balance_at_least is not None or filters.has_credit:
        return "-balance"
    return "customer_id"


def list_wallets(
    store_id: str,
    currency: str,
    *,
    sort: str,
    filters: WalletFilters,
    after: str | None,
    limit: int,
) -> tuple[list[WalletRowView], str | None]:
    """A page of the store's wallets in `currency` (those that ever had a posting), in `sort`
    order, through the index of that order (`store.LISTINGS`). Returns the rows and the
    position after the page (None on the last)."""
    items, next_after = ledger_store().wallets_page(
        store_id, currency, listing=LISTINGS[sort], filters=filters, after=after, limit=limit
    )
    return [_row(item, currency) for item in items], next_after


def wallets_of(
    store_id: str, currency: str, customer_ids: Sequence[str], filters: WalletFilters
) -> list[WalletRowView]:
    """These customers' wallets in `currency` that pass the filters, in the order given."""
    items = ledger_store().balance_items(store_id, currency, customer_ids)
    return [
        _row(items[c], currency) for c in customer_ids if c in items and filters.keeps(items[c])
    ]


def store_totals(store_id: str, currency: str) -> dict[str, Decimal]:
    """The store's counters in `currency` (kept by every posting; `rules.TOTALS`)."""
    return {
        name: value
        if name.startswith("with") or name == "wallets"
        else money.quantize(value, currency)
        for name, value in ledger_store().totals(store_id, currency).items()
    }


@dataclass(frozen=True)
class WalletLots:
    wallet: WalletRowView
    lots: list[Lot]  # live ones (unspent, unexpired), soonest expiry first


def store_wallets_page(
    store_id: str, currency: str, *, limit: int, position: dict[str, Any] | None
) -> tuple[list[WalletLots], dict[str, Any] | None]:
    """A page of the store's wallets in `currency` with their live lots (for exports), and
    where the next page starts: bounded work whatever the number of wallets."""
    items, following = ledger_store().store_balances_page(
        store_id, currency, limit=limit, position=position
    )
    at = now()
    found = []
    for item in items:
        customer_id = item["customer_id"]["S"]
        lots = [
            lot
            for lot in ledger_store().lots(store_id, customer_id)
            if lot.currency == currency and lot.spendable_at(at)
        ]
        lots.sort(key=lambda lot: (lot.expires_at is None, lot.expires_at or at, lot.lot_id))
        view = _balance_view(item, lots, at)
        row = WalletRowView(
            customer_id, currency, view.balance, view.bonus, view.cashback, view.next_expiry
        )
        found.append(WalletLots(row, lots))
    return found, following


# Order events credits acts on; their subscription rule (infra/credits.yaml) takes these.
FOLLOWED_ORDER_EVENTS = ("order.cancelled", "order.refunded")


@idempotent(table=lambda: settings().idempotency_table, key="event_id")
def follow_order_event(request: dict[str, Any]) -> dict[str, Any]:
    """A cancelled order gets back all the credit that paid it; a refund gets back up to its
    amount (credit first; no amount: all of it). Keyed on the event id, and each reversal on
    the order (or refund) and debit, so a redelivery reverts nothing twice. A cancellation
    that arrives before the debit leaves a tombstone that refuses the debit.
    """
    store_id: str = request["store_id"]
    data = request["data"]
    order_id: str = data["order_id"]
    store = ledger_store()
    if request["event_type"] == "order.cancelled":
        store.close_order(store_id, order_id)
        budget: Decimal | None = None
        prefix = f"order-cancelled:{order_id}"
    elif request["event_type"] == "order.refunded":
        amount = data.get("amount")
        budget = None if amount is None else Decimal(str(amount))
        prefix = f"order-refunded:{data['refund_id']}"
    else:
        return {"outcome": "ignored"}
    reverted = 0
    for customer_id, debit_id in store.order_debits(store_id, order_id):
        if budget is not None and budget <= 0:
            break
        key = f"{prefix}:{debit_id}"
        seen = store.key_record(store_id, customer_id, key)
        if seen is not None:  # done by an earlier, interrupted delivery of this event
            first = store.entry(store_id, customer_id, seen.currency, seen.entry_ids[0])
            if budget is not None and first is not None:
                budget -= first.amount
            continue
        taken = find_debit(store_id, customer_id, debit_id)
        back = store.reversals(store_id, customer_id, taken.currency, debit_id)
        left = -taken.amount - sum((e.amount for e in back), Decimal(0))
        # A refund in finer units than the currency's is rounded to them (half-even).
        share = left if budget is None else money.quantize(min(left, budget), taken.currency)
        if share <= 0:
            continue
        try:
            revert(store_id, customer_id, debit_id, amount=share, key=key)
        except (ReversalTooLarge, KeyReused):
            continue  # already reverted by another path: nothing left to give back
        reverted += 1
        if budget is not None:
            budget -= share
    return {"outcome": "reverted", "debits": reverted}


@idempotent(table=lambda: settings().idempotency_table, key="event_id")
def follow_merge(request: dict[str, Any]) -> dict[str, Any]:
    """customer.merged: each lot of the merged customers moves to the kept one with its kind and
    expiry, as an `adjustment` on the merged wallet and a `credit` (a new lot) on the kept one.
    Both sides are keyed on the merge and the lot: a redelivery, or a retry after a crash
    between the two sides, completes what is missing and moves nothing twice. Lots past their
    expiry stay behind for the expiry job. Works whatever the merged wallets' status (a
    customer.deleted for them may come first).
    """
    store_id: str = request["store_id"]
    data = request["data"]
    merge_id: str = data["merge_id"]
    kept_id: str = data["kept_id"]
    store = ledger_store()
    moved = 0
    for merged_id in data["merged_ids"]:
        if merged_id == kept_id:
            continue
        for item in store.balances(store_id, merged_id):
            currency = item["currency"]["S"]
            for lot in store.load(store_id, merged_id, currency).lots.values():
                out_key = f"merge:{merge_id}:{lot.lot_id}:out"
                seen = store.key_record(store_id, merged_id, out_key)
                if seen is None:
                    if not lot.spendable_at(now()):
                        continue
                    entry = _move_out(
                        store_id,
                        merged_id,
                        currency,
                        lot_id=lot.lot_id,
                        key=out_key,
                        kept_id=kept_id,
                    )
                    if entry is None:
                        continue
                else:
                    found = store.entry(store_id, merged_id, currency, seen.entry_ids[0])
                    if found is None:
                        continue
                    entry = found
                grant(
                    store_id,
                    kept_id,
                    kind=lot.kind.value,
                    amount=-entry.amount,
                    currency=currency,
                    expires_at=lot.expires_at,
                    origin={"merge": merge_id, "customer": merged_id, "lot": lot.lot_id},
                    note=lot.note,
                    key=f"merge:{merge_id}:{lot.lot_id}:in",
                )
                moved += 1
    return {"outcome": "merged", "lots": moved}


def _move_out(
    store_id: str, customer_id: str, currency: str, *, lot_id: str, key: str, kept_id: str
) -> Entry | None:
    def apply(ledger: Ledger, _state: WalletState) -> list[Entry]:
        if not ledger.lots[lot_id].spendable_at(now()):
            return []  # spent or expired meanwhile
        return [
            ledger.move_out(
                entry_id=new_id(), lot_id=lot_id, at=now(), key=key, note=f"merged into {kept_id}"
            )
        ]

    entries, _ = _post(
        store_id,
        customer_id,
        currency,
        key=key,
        print_=fingerprint({"move": lot_id}),
        apply=apply,
    )
    return entries[0] if entries else None
