"""Routes of the ledger: postings to a wallet, a wallet's screen, the store's wallets.

Each parses, calls a use case, answers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.credits.ledger import usecases
from chalicelib.credits.ledger.models import (
    AdjustmentBody,
    Balance,
    CreditsSummary,
    DebitBody,
    EntryOut,
    GrantBody,
    LotOut,
    PostingOut,
    ReversalBody,
    SummaryQuery,
    WalletQuery,
    WalletRow,
    WalletsPage,
    WalletsQuery,
    WalletView,
)
from chalicelib.credits.ledger.rules import (
    DebitNotFound,
    InsufficientCredit,
    InvalidPosting,
    KeyReused,
    LedgerError,
    OrderClosed,
    ReversalTooLarge,
    segment_totals,
)
from chalicelib.credits.ledger.store import WalletFilters
from chalicelib.credits.referrals.usecases import referrer_ids
from chalicelib.credits.settings import settings
from chalicelib.credits.wallets.rules import WalletNotFound
from chalicelib.credits.wallets.usecases import is_customer
from clientela import money, problems
from clientela.api import Call, Reply, Routes, idempotency_key
from clientela.cursor import decode_cursor, encode_cursor
from clientela.problems import FieldError, Problem
from clientela.secrets import secret_value

routes = Routes()
register = routes.register


_PROBLEMS: dict[type[Exception], Any] = {
    WalletNotFound: lambda _e: problems.not_found("wallet"),
    DebitNotFound: lambda _e: problems.not_found("debit"),
    InvalidPosting: lambda e: problems.invalid([FieldError(e.field, e.reason)]),
    KeyReused: lambda _e: Problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "This key was already used with a different body",
        [FieldError("Idempotency-Key", "Used before with another body")],
    ),
    InsufficientCredit: lambda _e: Problem(
        409,
        "insufficient-credit",
        "Insufficient credit",
        "The wallet's spendable credit does not cover this debit; nothing was taken",
    ),
    OrderClosed: lambda _e: Problem(
        409,
        "order-closed",
        "Order cancelled",
        "The order this debit would pay was cancelled; nothing was taken",
    ),
    ReversalTooLarge: lambda _e: problems.invalid(
        [FieldError("amount", "More than the debit has left to revert")],
        "A reversal never puts back more than was debited",
    ),
    usecases.Busy: lambda _e: Problem(
        503,
        "write-conflict",
        "Busy",
        "Other postings to this wallet are landing at the same moment; retry shortly",
        headers={"Retry-After": "1"},
    ),
}


def _problem(error: Exception) -> Problem:
    for kind, make in _PROBLEMS.items():
        if isinstance(error, kind):
            problem: Problem = make(error)
            return problem
    raise error


def _posting(posting: usecases.Posting) -> PostingOut:
    return PostingOut(
        entry=EntryOut.of(posting.entry),
        lot=LotOut.of(posting.lot) if posting.lot else None,
        balance=money.text(posting.balance, posting.entry.currency),
        also=[EntryOut.of(e) for e in posting.also],
    )


def _cursor_key() -> str:
    return secret_value(settings().cursor_key_secret)


def _scope(name: str, query: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()
    return f"{name}:{digest[:32]}"


def require_customer(store_id: str, customer_id: str, field: str = "customer_id") -> None:
    """422 naming the field unless the store has this (undeleted) customer. For the areas whose
    bodies name a customer (coupons, referrals): credits knows customers by their wallet."""
    if not is_customer(store_id, customer_id):
        raise problems.invalid([FieldError(field, "No customer with that id in this store")])


@routes.route(
    "/wallets/{customer_id}/credits",
    "POST",
    summary="Grant credit (a lot) to a customer",
    body=GrantBody,
    response=PostingOut,
    status=201,
    errors=(404, 422, 503),
    headers=("Idempotency-Key",),
)
def grant_credit(call: Call, customer_id: str) -> Reply:
    """A new lot of the given kind, amount and expiry, and its `credit` entry.

    The `Idempotency-Key` header is required: a retry with the same body answers the first
    result; the same key with another body gets 422.
    """
    body: GrantBody = call.body
    key = idempotency_key(call.header("Idempotency-Key"), required=True)
    assert key is not None
    try:
        posting = usecases.grant(
            call.store_id,
            customer_id,
            kind=body.kind.value,
            amount=body.amount,
            currency=body.currency,
            expires_at=body.expires_at,
            origin={"admin": "api"},
            note=body.note,
            key=f"api:{key}",
            limited=True,
        )
    except (LedgerError, WalletNotFound, usecases.Busy) as error:
        raise _problem(error) from None
    return Reply(201 if not posting.replayed else 200, _posting(posting))


@routes.route(
    "/wallets/{customer_id}/adjustments",
    "POST",
    summary="Adjust a customer's credit (an admin's correction)",
    body=AdjustmentBody,
    response=PostingOut,
    status=201,
    errors=(404, 409, 422, 503),
    headers=("Idempotency-Key",),
)
def adjust_credit(call: Call, customer_id: str) -> Reply:
    """One `adjustment` entry with the note: a positive amount is a new `manual` lot without
    expiry (422 past the store's credit limit, naming the amount left), a negative one takes
    from the lots in spend order (409 `insufficient-credit` past what is spendable; nothing
    changes). The `Idempotency-Key` header is required, as for credits.
    """
    body: AdjustmentBody = call.body
    key = idempotency_key(call.header("Idempotency-Key"), required=True)
    assert key is not None
    try:
        posting = usecases.adjust(
            call.store_id,
            customer_id,
            amount=body.amount,
            currency=body.currency,
            note=body.note,
            key=f"api:{key}",
        )
    except (LedgerError, WalletNotFound, usecases.Busy) as error:
        raise _problem(error) from None
    return Reply(201 if not posting.replayed else 200, _posting(posting))


@routes.route(
    "/wallets/{customer_id}/debits",
    "POST",
    summary="Spend a customer's credit",
    body=DebitBody,
    response=PostingOut,
    status=201,
    errors=(404, 409, 422, 503),
    headers=("Idempotency-Key",),
)
def debit_credit(call: Call, customer_id: str) -> Reply:
    """Takes the amount from the lots, soonest-expiring first, then oldest, no-expiry last.

    Keyed on the `Idempotency-Key` header, or else on `order_id` (one of them is required).
    More than the spendable credit (lots past their expiry never count): 409
    `insufficient-credit`, nothing taken.
    """
    body: DebitBody = call.body
    header = idempotency_key(call.header("Idempotency-Key"))
    if header is None and body.order_id is None:
        raise problems.invalid(
            [FieldError("Idempotency-Key", "Required without order_id")],
            "A debit needs an Idempotency-Key header or an order_id",
        )
    key = f"api:{header}" if header else f"order:{body.order_id}"
    try:
        posting = usecases.debit(
            call.store_id,
            customer_id,
            amount=body.amount,
            currency=body.currency,
            order_id=body.order_id,
            key=key,
        )
    except (LedgerError, WalletNotFound, usecases.Busy) as error:
        raise _problem(error) from None
    return Reply(201 if not posting.replayed else 200, _posting(posting))


@routes.route(
    "/wallets/{customer_id}/debits/{debit_id}/reversal",
    "POST",
    summary="Revert a debit, fully or in part",
    body=ReversalBody,
    response=PostingOut,
    status=201,
    errors=(404, 422, 503),
    headers=("Idempotency-Key",),
)
def revert_debit(call: Call, customer_id: str, debit_id: str) -> Reply:
    """Puts the amount back on the very lots the debit took from, with their expiry; a lot
    that expired meanwhile expires again at once (`also`). Never more than was debited.

    The `Idempotency-Key` header is required.
    """
    body: ReversalBody = call.body
    key = idempotency_key(call.header("Idempotency-Key"), required=True)
    try:
        posting = usecases.revert(
            call.store_id, customer_id, debit_id, amount=body.amount, key=f"api:{key}"
        )
    except (LedgerError, WalletNotFound, usecases.Busy) as error:
        raise _problem(error) from None
    return Reply(201 if not posting.replayed else 200, _posting(posting))


@routes.route(
    "/wallets/{customer_id}",
    "GET",
    summary="Get a customer's wallet",
    query=WalletQuery,
    response=WalletView,
    errors=(404,),
)
def get_wallet(call: Call, customer_id: str) -> Reply:
    """Balance per currency, lots with what is left and their expiry, and the ledger (newest
    first, filterable by entry type and period, paginated with `cursor`)."""
    query: WalletQuery = call.query
    scope = _scope(
        f"wallet:{customer_id}", query.model_dump(mode="json", exclude={"cursor", "limit"})
    )
    after = None
    if query.cursor:
        position = decode_cursor(
            query.cursor, store_id=call.store_id, scope=scope, key=_cursor_key()
        )
        after = str(position.get("after", ""))
    try:
        wallet = usecases.get_wallet(
            call.store_id,
            customer_id,
            currency=query.currency,
            types=[t.value for t in query.type],
            since=query.since,
            until=query.until,
            limit=query.limit,
            after=after,
        )
    except WalletNotFound:
        raise problems.not_found("wallet") from None
    shown = next(b for b in wallet.balances if b.currency == wallet.currency)
    return Reply(
        200,
        WalletView(
            customer_id=wallet.customer_id,
            status=wallet.status.value,
            opened_at=wallet.opened_at,
            closed_at=wallet.closed_at,
            currency=wallet.currency,
            balance=money.text(shown.balance, shown.currency),
            balances=[
                Balance(
                    currency=b.currency,
                    balance=money.text(b.balance, b.currency),
                    spendable=money.text(b.spendable, b.currency),
                    bonus=money.text(b.bonus, b.currency),
                    cashback=money.text(b.cashback, b.currency),
                    next_expiry=b.next_expiry,
                )
                for b in wallet.balances
            ],
            lots=[LotOut.of(lot) for lot in wallet.lots],
            entries=[EntryOut.of(e) for e in wallet.entries],
            next_cursor=encode_cursor(
                {"after": wallet.next_after}, store_id=call.store_id, scope=scope, key=_cursor_key()
            )
            if wallet.next_after
            else None,
        ),
    )


def _row(r: usecases.WalletRowView, currency: str) -> WalletRow:
    return WalletRow(
        customer_id=r.customer_id,
        currency=r.currency,
        balance=money.text(r.balance, currency),
        bonus=money.text(r.bonus, currency),
        cashback=money.text(r.cashback, currency),
        next_expiry=r.next_expiry,
    )


@routes.route(
    "/wallets",
    "GET",
    summary="List the store's wallets",
    query=WalletsQuery,
    response=WalletsPage,
)
def list_wallets(call: Call) -> Reply:
    """Wallets of one currency (the default one if none is named) that ever had credit, with
    filters and a sort, each served by an index (never a read of every wallet), and the totals
    of the filter from the counters the postings keep (outstanding credit: the store's
    liability; cashback granted). Paginated with `cursor`; read page by page for an export."""
    query: WalletsQuery = call.query
    if query.referrer is False:
        raise problems.invalid(
            [FieldError("referrer", "Only true is served (the referrers' listing)")]
        )
    if query.referrer and query.sort not in (None, "customer_id"):
        raise problems.invalid([FieldError("sort", "Referrers are listed by customer_id")])
    currency = query.currency or usecases.store_settings(call.store_id).default_currency
    filters = WalletFilters(
        has_credit=query.has_active_credit,
        has_bonus=query.has_bonus,
        cashback_at_least=query.cashback_at_least,
        balance_at_least=query.balance_at_least,
        expiring_before=query.expiring_before,
    )
    sort = "customer_id" if query.referrer else query.sort or usecases.default_sort(filters)
    scope = _scope("wallets", query.model_dump(mode="json", exclude={"cursor", "limit"}))
    after: str | None = None
    if query.cursor:
        position = decode_cursor(
            query.cursor, store_id=call.store_id, scope=scope, key=_cursor_key()
        )
        after = str(position.get("after", "")) or None
    if query.referrer:
        rows, after = _referrers_page(call.store_id, currency, filters, after, query.limit)
    else:
        rows, after = usecases.list_wallets(
            call.store_id, currency, sort=sort, filters=filters, after=after, limit=query.limit
        )
    thresholds = (
        query.referrer,
        query.cashback_at_least,
        query.balance_at_least,
        query.expiring_before,
    )
    totals = None
    if all(value is None for value in thresholds):
        totals = segment_totals(
            usecases.store_totals(call.store_id, currency),
            has_credit=query.has_active_credit,
            has_bonus=query.has_bonus,
        )
    return Reply(
        200,
        WalletsPage(
            items=[_row(r, currency) for r in rows],
            sort=sort,
            count=totals.count if totals else None,
            outstanding=money.text(totals.outstanding, currency) if totals else None,
            cashback=money.text(totals.cashback, currency) if totals else None,
            next_cursor=encode_cursor(
                {"after": after}, store_id=call.store_id, scope=scope, key=_cursor_key()
            )
            if after
            else None,
        ),
    )


def _referrers_page(
    store_id: str, currency: str, filters: WalletFilters, after: str | None, limit: int
) -> tuple[list[usecases.WalletRowView], str | None]:
    """Referrers page by page (the by-store index's referrer partitions), joined with their
    balances; the other filters are applied to them. Referrers are few beside customers."""
    rows: list[usecases.WalletRowView] = []
    while True:
        ids = referrer_ids(store_id, after=after, limit=limit + 1)
        for row in usecases.wallets_of(store_id, currency, ids, filters):
            rows.append(row)
        if len(rows) > limit:
            return rows[:limit], rows[limit - 1].customer_id
        if len(ids) <= limit:
            return rows, None
        after = ids[-1]


@routes.route(
    "/credits/summary",
    "GET",
    summary="The store's credit in one currency",
    query=SummaryQuery,
    response=CreditsSummary,
)
def credits_summary(call: Call) -> Reply:
    """Outstanding credit (the store's liability), bonus left, cashback granted (the counters
    every posting keeps), and the next expiry (the expiry index's first item)."""
    query: SummaryQuery = call.query
    currency = query.currency or usecases.store_settings(call.store_id).default_currency
    totals = usecases.store_totals(call.store_id, currency)
    soonest, _ = usecases.list_wallets(
        call.store_id, currency, sort="next_expiry", filters=WalletFilters(), after=None, limit=1
    )
    return Reply(
        200,
        CreditsSummary(
            currency=currency,
            wallets=int(totals["wallets"]),
            wallets_with_credit=int(totals["with_credit"]),
            wallets_with_bonus=int(totals["with_bonus"]),
            outstanding=money.text(totals["outstanding"], currency),
            bonus=money.text(totals["bonus"], currency),
            cashback=money.text(totals["cashback"], currency),
            next_expiry=soonest[0].next_expiry if soonest else None,
        ),
    )
