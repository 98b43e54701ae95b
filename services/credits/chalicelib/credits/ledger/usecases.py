"""What the ledger does, one function per use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chalicelib.credits.ledger.rules import Entry, Lot


@dataclass(frozen=True)
class Posting:
    """The result of a posting: its entry, the lot it created (grants), the wallet's balance
    after it, and whether it is the first result replayed for a key seen before."""

    entry: Entry
    lot: Lot | None
    balance: Decimal
    replayed: bool


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
) -> Posting:
    """Credits a new lot to the customer's wallet in `currency`, as one `credit` entry.

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
    - `KeyReused`: the key was used for another body.
    """
    raise NotImplementedError
