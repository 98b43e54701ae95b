"""What the ledger's HTTP API takes and answers. Amounts are canonical decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from chalicelib.credits.ledger.rules import Entry, EntryType, Lot, LotKind
from clientela import money
from clientela.money import CANONICAL_PATTERN, Amount, Currency, InCurrency

# Entry amounts are signed (debits and expirations negative).
SIGNED_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]{1,4})?$"


MoneyText = Annotated[str, Field(pattern=CANONICAL_PATTERN, examples=["59.90"])]


class GrantBody(InCurrency):
    model_config = ConfigDict(extra="forbid")

    kind: LotKind
    amount: Amount
    currency: Currency
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the lot expires (in the future); none: never."
    )
    note: str | None = Field(default=None, max_length=500)


def _iso_only(value: object) -> object:
    """A date-time as ISO 8601 text only: pydantic would also read a number (or numeric text)
    as a Unix timestamp, which the documented format does not allow."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError("must be an ISO 8601 date-time with a time zone")
    return value


def _signed(value: object) -> Decimal:
    """A decimal with an optional leading minus (money.parse reads amounts, never negative)."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -money.parse(value.strip()[1:])
    return money.parse(value)


class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Decimal, BeforeValidator(_signed)] = Field(
        description="Signed: positive adds a manual lot (within the store's credit limit), "
        "negative takes from the lots in spend order (never more than is spendable). At most "
        "the currency's decimals; not zero.",
        examples=["-12.50"],
    )
    currency: Currency
    note: str = Field(min_length=1, max_length=500, description="Why (kept on the entry).")


class DebitBody(InCurrency):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency
    order_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The order paid with the credit; without an Idempotency-Key it is the key.",
    )


class ReversalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = Field(
        default=None, description="What to put back (in the debit's currency); none: all left."
    )


class LotOut(BaseModel):
    lot_id: str
    kind: LotKind
    currency: str
    amount: MoneyText = Field(description="Granted.")
    remaining: MoneyText = Field(description="Left to spend.")
    created_at: datetime
    expires_at: datetime | None
    expired: bool
    origin: dict[str, str]
    note: str | None

    @classmethod
    def of(cls, lot: Lot) -> LotOut:
        return cls(
            lot_id=lot.lot_id,
            kind=lot.kind,
            currency=lot.currency,
            amount=money.text(lot.amount, lot.currency),
            remaining=money.text(lot.remaining, lot.currency),
            created_at=lot.created_at,
            expires_at=lot.expires_at,
            expired=lot.expired,
            origin=dict(lot.origin),
            note=lot.note,
        )


class TakeOut(BaseModel):
    lot_id: str
    amount: MoneyText = Field(description="Taken from (or put back on) the lot.")


class EntryOut(BaseModel):
    entry_id: str
    type: EntryType
    currency: str
    amount: str = Field(description="Signed: debits and expirations are negative.")
    balance_after: MoneyText = Field(description="The wallet's balance after this entry.")
    at: datetime
    lots: list[TakeOut]
    lot_id: str | None = None
    kind: LotKind | None = None
    debit_id: str | None = Field(
        default=None, description="A reversal's debit; an expiration's reversal if it re-expired."
    )
    order_id: str | None = None
    note: str | None = None
    reexpired: str | None = Field(
        default=None, description="A reversal onto lots that had expired: what expired again."
    )

    @classmethod
    def of(cls, entry: Entry) -> EntryOut:
        return cls(
            entry_id=entry.entry_id,
            type=entry.type,
            currency=entry.currency,
            amount=money.text(entry.amount, entry.currency),
            balance_after=money.text(entry.balance_after, entry.currency),
            at=entry.at,
            lots=[
                TakeOut(lot_id=t.lot_id, amount=money.text(t.amount, entry.currency))
                for t in entry.takes
            ],
            lot_id=entry.lot_id,
            kind=entry.kind,
            debit_id=entry.debit_id,
            order_id=entry.order_id,
            note=entry.note,
            reexpired=money.text(entry.reexpired, entry.currency) if entry.reexpired else None,
        )


class PostingOut(BaseModel):
    entry: EntryOut
    lot: LotOut | None = None
    balance: MoneyText = Field(
        description="The wallet's balance in this currency after the posting."
    )
    also: list[EntryOut] = Field(
        default_factory=list, description="Entries the posting caused (re-expiry of lots)."
    )


class Balance(BaseModel):
    currency: str
    balance: MoneyText = Field(description="Credit in the wallet.")
    spendable: MoneyText = Field(
        description="What a debit can take now (lots past expiry excluded)."
    )
    bonus: MoneyText = Field(description="Bonus credit left.")
    cashback: MoneyText = Field(description="Cashback granted so far.")
    next_expiry: datetime | None


class WalletQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: list[EntryType] = Field(default_factory=list, description="Entries of these types.")
    since: AwareDatetime | None = Field(default=None, description="Entries at or after.")
    until: AwareDatetime | None = Field(default=None, description="Entries before.")
    currency: Currency | None = Field(default=None, description="The ledger of this currency.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=4096)


class WalletView(BaseModel):
    customer_id: str
    status: Literal["open", "closed"]
    opened_at: datetime | None
    closed_at: datetime | None
    currency: str = Field(description="The currency of `balance` and of the ledger shown.")
    balance: MoneyText = Field(description="Credit in `currency`.")
    balances: list[Balance]
    lots: list[LotOut]
    entries: list[EntryOut]
    next_cursor: str | None


class WalletsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Currency | None = None
    has_active_credit: bool | None = None
    has_bonus: bool | None = None
    cashback_at_least: Decimal | None = Field(default=None, ge=0)
    balance_at_least: Decimal | None = Field(default=None, ge=0)
    expiring_before: Annotated[AwareDatetime, BeforeValidator(_iso_only)] | None = None
    referrer: bool | None = Field(
        default=None, description="true: only the programme's referrers (by customer id)."
    )
    sort: (
        Literal[
            "balance",
            "-balance",
            "bonus",
            "-bonus",
            "cashback",
            "-cashback",
            "next_expiry",
            "customer_id",
        ]
        | None
    ) = Field(
        default=None,
        description="Without one, the order of the index that serves the narrowest filter "
        "(next_expiry, -cashback, -bonus, -balance, else customer_id); the answer says which.",
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=4096)


class WalletRow(BaseModel):
    customer_id: str
    currency: str
    balance: MoneyText = Field(description="Credit in the wallet.")
    bonus: MoneyText = Field(description="Bonus credit left.")
    cashback: MoneyText = Field(description="Cashback granted so far.")
    next_expiry: datetime | None


class WalletsPage(BaseModel):
    items: list[WalletRow]
    sort: str = Field(description="The order of the items.")
    count: int | None = Field(
        description="Wallets matching the filters; null for the filters whose totals are not "
        "kept (an amount or date threshold, referrer)."
    )
    outstanding: MoneyText | None = Field(
        description="Credit held by the matching wallets (the store's liability); null as count."
    )
    cashback: MoneyText | None = Field(
        description="Cashback granted to the matching wallets; null as count."
    )
    next_cursor: str | None


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Currency | None = None


class CreditsSummary(BaseModel):
    currency: str
    wallets: int = Field(description="Wallets that ever had a posting in this currency.")
    wallets_with_credit: int
    wallets_with_bonus: int
    outstanding: MoneyText = Field(
        description="Credit held by all wallets (the store's liability)."
    )
    bonus: MoneyText = Field(description="Bonus credit left.")
    cashback: MoneyText = Field(description="Cashback granted so far.")
    next_expiry: datetime | None
