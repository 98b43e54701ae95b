"""The ledger in DynamoDB: every item of a customer under one partition key of its own.

`pk=CUSTOMER#<store>#<customer>` holds (sort keys):

- `WALLET`: the wallet's status (opened / closed with the customer; `wallets.store`);
- `BAL#<cur>`: the balance in one currency, a `version` every posting bumps (optimistic
  concurrency: a posting commits only if nobody posted since it read), the summaries the
  store-wide listing filters on (`bonus`, `cashback`, `next_expiry`), and `settling` while a
  large debit's lots are being settled (see `settle`);
- `LOT#<cur>#<lot id>`: a lot (kind, amount, remaining, expires_at, origin, note);
- `ENTRY#<cur>#<entry id>`: an immutable entry (ULIDs: chronological);
- `KEY#<key>`: the idempotency record of a posting key (fingerprint of the body, entry ids);
- `REVOF#<debit id>#<revert id>`: what each reversal of a debit put back, per lot.

Store-wide reads go through write-sharded indexes, never a store-wide partition key:
`by-store` (`gpk=STORE#<store>#<shard>`, `gsk=<cur>#<customer>`, balance items only) lists a
store's wallets; `due` (`dpk=DUE#<shard>`, `dsk=<next expiry>#<store>#<customer>#<cur>`,
balance items with a lot that will expire) is what the expiry job reads. The shard is a hash of
the customer id, so one store's writes spread over `SHARDS` index partitions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.ledger.rules import Entry, EntryType, Lot, LotKind, Take
from clientela import money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SHARDS = 16
# DynamoDB's limit of items per transaction, less the balance, the entry, the key record and
# the reversal pointer a posting writes besides its lots.
TRANSACTION_ITEMS = 100
LOTS_PER_TRANSACTION = TRANSACTION_ITEMS - 4
SETTLE_CHUNK = TRANSACTION_ITEMS


class Conflict(Exception):
    """Someone posted to the wallet since it was read: read again and retry."""


class KeyTaken(Exception):
    """The posting key was recorded by a concurrent posting: replay it."""


def customer_pk(store_id: str, customer_id: str) -> str:
    return f"CUSTOMER#{store_id}#{customer_id}"


def shard(customer_id: str) -> int:
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % SHARDS


def stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _n(amount: Decimal) -> dict[str, str]:
    return {"N": format(amount, "f")}


def _amount(item: dict[str, Any], name: str, currency: str) -> Decimal:
    return money.quantize(Decimal(item[name]["N"]), currency)


@dataclass(frozen=True)
class KeyRecord:
    fingerprint: str
    currency: str
    entry_ids: tuple[str, ...]


@dataclass
class WalletState:
    """One wallet-currency as read before a posting."""

    store_id: str
    customer_id: str
    currency: str
    balance: Decimal
    version: int
    lots: dict[str, Lot]
    settling: str | None = None
    cashback: Decimal = Decimal(0)
    exists: bool = False


@dataclass(frozen=True)
class Summary:
    """What the listing filters on, recomputed from the lots at every posting; `next_due` is
    when the expiry job next has something to do (a warning or an expiry)."""

    bonus: Decimal
    cashback: Decimal
    next_expiry: datetime | None
    next_due: datetime | None = None


@dataclass
class Change:
    """What one posting writes: entries, the lots it touched, the key it records."""

    entries: list[Entry]
    lots: list[Lot]
    key: str | None
    fingerprint: str
    reversal_of: str | None = None
    extra: list[dict[str, Any]] = field(default_factory=list)


def lot_item(pk: str, lot: Lot, seq: int) -> dict[str, Any]:
    """`seq` is the balance version of the posting that wrote the lot: a settle running late
    never puts back an older image over a newer posting's."""
    item: dict[str, Any] = {
        "pk": {"S": pk},
        "sk": {"S": f"LOT#{lot.currency}#{lot.lot_id}"},
        "entity": {"S": "lot"},
        "lot_id": {"S": lot.lot_id},
        "kind": {"S": lot.kind.value},
        "amount": _n(lot.amount),
        "remaining": _n(lot.remaining),
        "currency": {"S": lot.currency},
        "created_at": {"S": stamp(lot.created_at)},
        "origin": {"M": {k: {"S": v} for k, v in lot.origin.items()}},
        "expired": {"BOOL": lot.expired},
        "warned": {"BOOL": lot.warned},
        "seq": {"N": str(seq)},
    }
    if lot.expires_at is not None:
        item["expires_at"] = {"S": stamp(lot.expires_at)}
    if lot.note is not None:
        item["note"] = {"S": lot.note}
    return item


def lot_of(item: dict[str, Any]) -> Lot:
    currency = item["currency"]["S"]
    return Lot(
        lot_id=item["lot_id"]["S"],
        kind=LotKind(item["kind"]["S"]),
        amount=_amount(item, "amount", currency),
        remaining=_amount(item, "remaining", currency),
        currency=currency,
        created_at=_when(item["created_at"]["S"]),
        expires_at=_when(item["expires_at"]["S"]) if "expires_at" in item else None,
        origin={k: v["S"] for k, v in item.get("origin", {"M": {}})["M"].items()},
        note=item["note"]["S"] if "note" in item else None,
        expired=item.get("expired", {"BOOL": False})["BOOL"],
        warned=item.get("warned", {"BOOL": False})["BOOL"],
    )


def entry_item(pk: str, entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": pk},
        "sk": {"S": f"ENTRY#{entry.currency}#{entry.entry_id}"},
        "entity": {"S": "entry"},
        "entry_id": {"S": entry.entry_id},
        "type": {"S": entry.type.value},
        "amount": _n(entry.amount),
        "currency": {"S": entry.currency},
        "balance_after": _n(entry.balance_after),
        "at": {"S": stamp(entry.at)},
        "key": {"S": entry.key},
        "takes": {
            "L": [{"M": {"lot": {"S": t.lot_id}, "amount": _n(t.amount)}} for t in entry.takes]
        },
        "reexpired": _n(entry.reexpired),
        "fingerprint": {"S": entry.fingerprint},
    }
    for name in ("debit_id", "lot_id", "order_id", "note"):
        value = getattr(entry, name)
        if value is not None:
            item[name] = {"S": value}
    if entry.kind is not None:
        item["kind"] = {"S": entry.kind.value}
    return item


def entry_of(item: dict[str, Any]) -> Entry:
    currency = item["currency"]["S"]

    def opt(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return Entry(
        entry_id=item["entry_id"]["S"],
        type=EntryType(item["type"]["S"]),
        amount=_amount(item, "amount", currency),
        currency=currency,
        balance_after=_amount(item, "balance_after", currency),
        at=_when(item["at"]["S"]),
        key=item["key"]["S"],
        takes=tuple(
            Take(t["M"]["lot"]["S"], money.quantize(Decimal(t["M"]["amount"]["N"]), currency))
            for t in item["takes"]["L"]
        ),
        debit_id=opt("debit_id"),
        lot_id=opt("lot_id"),
        kind=LotKind(item["kind"]["S"]) if "kind" in item else None,
        order_id=opt("order_id"),
        note=opt("note"),
        reexpired=_amount(item, "reexpired", currency),
        fingerprint=item["fingerprint"]["S"],
    )


def summarise(
    lots: Sequence[Lot], cashback_before: Decimal, entries: Sequence[Entry], lead: timedelta
) -> Summary:
    live = [lot for lot in lots if lot.remaining > 0 and not lot.expired]
    expiries = [lot.expires_at for lot in live if lot.expires_at is not None]
    dues = [
        lot.expires_at if lot.warned else lot.expires_at - lead
        for lot in live
        if lot.expires_at is not None
    ]
    granted = sum(
        (e.amount for e in entries if e.type is EntryType.CREDIT and e.kind is LotKind.CASHBACK),
        Decimal(0),
    )
    return Summary(
        bonus=sum((lot.remaining for lot in live if lot.kind is LotKind.BONUS), Decimal(0)),
        cashback=cashback_before + granted,
        next_expiry=min(expiries) if expiries else None,
        next_due=min(dues) if dues else None,
    )


class LedgerStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    # reads --------------------------------------------------------------------------------

    def _query(self, **params: Any) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            more: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._db.query(TableName=self._table, **params, **more)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def load(self, store_id: str, customer_id: str, currency: str) -> WalletState:
        """The balance and every lot of one wallet-currency, read consistently."""
        pk = customer_pk(store_id, customer_id)
        # The balance (and its version) first, the lots after: a posting that lands between
        # the two reads bumps the version, so a commit based on these lots fails and retries.
        balance = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": f"BAL#{currency}"}},
            ConsistentRead=True,
        ).get("Item")
        items = list(
            self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": pk},
                    ":prefix": {"S": f"LOT#{currency}#"},
                },
                ConsistentRead=True,
            )
        )
        lots = {lot.lot_id: lot for lot in map(lot_of, items)}
        if balance is None:
            return WalletState(store_id, customer_id, currency, Decimal(0), 0, lots)
        return WalletState(
            store_id,
            customer_id,
            currency,
            _amount(balance, "balance", currency),
            int(balance["version"]["N"]),
            lots,
            settling=balance["settling"]["S"] if "settling" in balance else None,
            cashback=_amount(balance, "cashback", currency),
            exists=True,
        )

    def balances(self, store_id: str, customer_id: str) -> list[dict[str, Any]]:
        return list(
            self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": customer_pk(store_id, customer_id)},
                    ":prefix": {"S": "BAL#"},
                },
                ConsistentRead=True,
            )
        )

    def lots(self, store_id: str, customer_id: str) -> list[Lot]:
        return [
            lot_of(item)
            for item in self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": customer_pk(store_id, customer_id)},
                    ":prefix": {"S": "LOT#"},
                },
            )
        ]

    def key_record(self, store_id: str, customer_id: str, key: str) -> KeyRecord | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": customer_pk(store_id, customer_id)}, "sk": {"S": f"KEY#{key}"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return KeyRecord(
            item["fingerprint"]["S"],
            item["currency"]["S"],
            tuple(v["S"] for v in item["entry_ids"]["L"]),
        )

    def entry(self, store_id: str, customer_id: str, currency: str, entry_id: str) -> Entry | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={
                "pk": {"S": customer_pk(store_id, customer_id)},
                "sk": {"S": f"ENTRY#{currency}#{entry_id}"},
            },
            ConsistentRead=True,
        ).get("Item")
        return entry_of(item) if item else None

    def reversals(
        self, store_id: str, customer_id: str, currency: str, debit_id: str
    ) -> list[Entry]:
        pointers = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": customer_pk(store_id, customer_id)},
                ":prefix": {"S": f"REVOF#{debit_id}#"},
            },
            ConsistentRead=True,
        )
        found = []
        for pointer in pointers:
            entry = self.entry(store_id, customer_id, currency, pointer["revert_id"]["S"])
            if entry is not None:
                found.append(entry)
        return found

    def entries_page(
        self,
        store_id: str,
        customer_id: str,
        *,
        currency: str,
        limit: int,
        after: str | None,
        types: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> tuple[list[Entry], str | None]:
        """Newest first; filtered by type and period. `after` is the last entry id seen."""
        low = "ENTRY#" + currency + "#"
        high = "ENTRY#" + currency + "#~" if after is None else f"ENTRY#{currency}#{after}"
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": {"S": customer_pk(store_id, customer_id)},
                ":low": {"S": low},
                ":high": {"S": high},
            },
            "ScanIndexForward": False,
        }
        filters = []
        if types:
            names = ", ".join(f":t{i}" for i in range(len(types)))
            filters.append(f"#type IN ({names})")
            params["ExpressionAttributeNames"] = {"#type": "type"}
            for i, value in enumerate(types):
                params["ExpressionAttributeValues"][f":t{i}"] = {"S": value}
        if since is not None:
            filters.append("#at >= :since")
            params.setdefault("ExpressionAttributeNames", {})["#at"] = "at"
            params["ExpressionAttributeValues"][":since"] = {"S": stamp(since)}
        if until is not None:
            filters.append("#at < :until")
            params.setdefault("ExpressionAttributeNames", {})["#at"] = "at"
            params["ExpressionAttributeValues"][":until"] = {"S": stamp(until)}
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        found: list[Entry] = []
        for item in self._query(**params):
            if item["sk"]["S"] == high:
                continue
            found.append(entry_of(item))
            if len(found) > limit:
                break
        more = len(found) > limit
        found = found[:limit]
        return found, (found[-1].entry_id if more and found else None)

    def store_balances(self, store_id: str, currency: str) -> Iterator[dict[str, Any]]:
        """Every balance item of the store in `currency`, shard by shard (the `by-store` index)."""
        for number in range(SHARDS):
            yield from self._query(
                IndexName="by-store",
                KeyConditionExpression="gpk = :pk AND begins_with(gsk, :cur)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"STORE#{store_id}#{number}"},
                    ":cur": {"S": currency + "#"},
                },
            )

    def store_balances_page(
        self, store_id: str, currency: str, *, limit: int, position: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to `limit` balance items of the store in `currency`, from `position` (shard and
        the index key to continue after), and where the next page starts (None at the end)."""
        shard = int((position or {}).get("shard", 0))
        start = (position or {}).get("key")
        items: list[dict[str, Any]] = []
        while shard < SHARDS and len(items) < limit:
            more: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._db.query(
                TableName=self._table,
                IndexName="by-store",
                KeyConditionExpression="gpk = :pk AND begins_with(gsk, :cur)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"STORE#{store_id}#{shard}"},
                    ":cur": {"S": currency + "#"},
                },
                Limit=limit - len(items),
                **more,
            )
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                shard += 1
        if shard >= SHARDS:
            return items, None
        return items, {"shard": shard, "key": start}

    def due(self, until: datetime) -> Iterator[tuple[str, str, str]]:
        """(store, customer, currency) of the wallets with a lot expiring by `until`."""
        for number in range(SHARDS):
            for item in self._query(
                IndexName="due",
                KeyConditionExpression="dpk = :pk AND dsk <= :until",
                ExpressionAttributeValues={
                    ":pk": {"S": f"DUE#{number}"},
                    ":until": {"S": stamp(until) + "#~"},
                },
            ):
                yield item["store_id"]["S"], item["customer_id"]["S"], item["currency"]["S"]

    # writes -------------------------------------------------------------------------------

    def _balance_update(
        self, state: WalletState, balance: Decimal, summary: Summary, settling: str | None
    ) -> dict[str, Any]:
        pk = customer_pk(state.store_id, state.customer_id)
        values: dict[str, Any] = {
            ":balance": _n(balance),
            ":version": {"N": str(state.version + 1)},
            ":bonus": _n(summary.bonus),
            ":cashback": _n(summary.cashback),
            ":cur": {"S": state.currency},
            ":store": {"S": state.store_id},
            ":customer": {"S": state.customer_id},
            ":entity": {"S": "balance"},
            ":gpk": {"S": f"STORE#{state.store_id}#{shard(state.customer_id)}"},
            ":gsk": {"S": f"{state.currency}#{state.customer_id}"},
        }
        sets = [
            "balance = :balance",
            "version = :version",
            "bonus = :bonus",
            "cashback = :cashback",
            "currency = :cur",
            "store_id = :store",
            "customer_id = :customer",
            "entity = :entity",
            "gpk = :gpk",
            "gsk = :gsk",
        ]
        removes = []
        if summary.next_expiry is not None:
            sets.append("next_expiry = :next")
            values[":next"] = {"S": stamp(summary.next_expiry)}
        else:
            removes.append("next_expiry")
        if summary.next_due is not None:
            sets += ["dpk = :dpk", "dsk = :dsk"]
            values[":dpk"] = {"S": f"DUE#{shard(state.customer_id)}"}
            values[":dsk"] = {
                "S": f"{stamp(summary.next_due)}#{state.store_id}#{state.customer_id}"
                f"#{state.currency}"
            }
        else:
            removes += ["dpk", "dsk"]
        if settling is not None:
            sets.append("settling = :settling")
            values[":settling"] = {"S": settling}
        else:
            removes.append("settling")
        if state.exists:
            condition = "version = :seen"
            values[":seen"] = {"N": str(state.version)}
        else:
            condition = "attribute_not_exists(pk)"
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": pk}, "sk": {"S": f"BAL#{state.currency}"}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def commit(self, state: WalletState, change: Change, summary: Summary) -> None:
        """Writes one posting, all or nothing. Raises Conflict or KeyTaken.

        A posting that touches more lots than one transaction holds commits its balance, entry
        and key (the commit point: from then on the posting has happened), with `settling` set
        on the balance; its lots are then settled in chunks by `settle`, which any later
        posting runs first if it finds `settling` still set (a crash in between).
        """
        pk = customer_pk(state.store_id, state.customer_id)
        balance = change.entries[-1].balance_after if change.entries else state.balance
        large = len(change.lots) > LOTS_PER_TRANSACTION
        # Lots marked without an entry (warnings) settle under the version they are written at.
        head = change.entries[0].entry_id if change.entries else f"v{state.version + 1}"
        items: list[dict[str, Any]] = [
            self._balance_update(state, balance, summary, head if large else None)
        ]
        items += [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": entry_item(pk, entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for entry in change.entries
        ]
        if change.key:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": pk},
                            "sk": {"S": f"KEY#{change.key}"},
                            "entity": {"S": "key"},
                            "fingerprint": {"S": change.fingerprint},
                            "currency": {"S": state.currency},
                            "entry_ids": {"L": [{"S": e.entry_id} for e in change.entries]},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if change.reversal_of:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": pk},
                            "sk": {"S": f"REVOF#{change.reversal_of}#{head}"},
                            "entity": {"S": "reversal"},
                            "revert_id": {"S": head},
                        },
                    }
                }
            )
        items += [{"Put": {"TableName": self._table, "Item": extra}} for extra in change.extra]
        if large:
            # The lots each posting leaves, kept on the head entry's settle plan.
            items.append(self._plan_item(pk, head, change.lots, state.version + 1))
        else:
            items += [
                {"Put": {"TableName": self._table, "Item": lot_item(pk, lot, state.version + 1)}}
                for lot in change.lots
            ]
        try:
            self._db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            key_index = 1 + len(change.entries)
            if (
                change.key
                and len(reasons) > key_index
                and reasons[key_index].get("Code") == "ConditionalCheckFailed"
            ):
                raise KeyTaken from None
            raise Conflict from None
        if large:
            self.settle(state.store_id, state.customer_id, state.currency, head)

    def _plan_item(self, pk: str, head: str, lots: Sequence[Lot], seq: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": {"S": pk},
                    "sk": {"S": f"PLAN#{head}"},
                    "entity": {"S": "plan"},
                    "lots": {"L": [{"M": lot_item(pk, lot, seq)} for lot in lots]},
                },
            }
        }

    def settle(self, store_id: str, customer_id: str, currency: str, head: str) -> None:
        """Writes a committed large posting's lots in chunks, then clears `settling`.

        Every write is the lot as the posting left it (a put, not an increment), so running
        it twice, or after a crash half-way, gives the same lots.
        """
        pk = customer_pk(store_id, customer_id)
        plan = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": f"PLAN#{head}"}},
            ConsistentRead=True,
        ).get("Item")
        if plan is not None:
            lots = [lot["M"] for lot in plan["lots"]["L"]]
            for start in range(0, len(lots), SETTLE_CHUNK):
                self._settle_chunk(lots[start : start + SETTLE_CHUNK])
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}, "sk": {"S": f"BAL#{currency}"}},
                UpdateExpression="REMOVE settling",
                ConditionExpression="settling = :head",
                ExpressionAttributeValues={":head": {"S": head}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _put_lot(self, lot: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": lot,
            "ConditionExpression": "attribute_not_exists(seq) OR seq <= :seq",
            "ExpressionAttributeValues": {":seq": lot["seq"]},
        }

    def _settle_chunk(self, lots: Sequence[dict[str, Any]]) -> None:
        try:
            self._db.transact_write_items(
                TransactItems=[{"Put": self._put_lot(lot)} for lot in lots]  # type: ignore[typeddict-item]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            # A newer posting already wrote some of these lots: write the others one by one.
            for lot in lots:
                try:
                    self._db.put_item(**self._put_lot(lot))
                except ClientError as failed:
                    if failed.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise

    # orders ---------------------------------------------------------------------------------

    def order_debit_item(
        self, store_id: str, order_id: str, customer_id: str, entry: Entry
    ) -> dict[str, Any]:
        """Which debits paid an order (`pk=ORDER#<store>#<order>`): order events name only the
        order, and a reversal must find the customer and the debit."""
        return {
            "pk": {"S": f"ORDER#{store_id}#{order_id}"},
            "sk": {"S": f"DEBIT#{customer_id}#{entry.entry_id}"},
            "entity": {"S": "order-debit"},
            "customer_id": {"S": customer_id},
            "entry_id": {"S": entry.entry_id},
            "currency": {"S": entry.currency},
        }

    def order_debits(self, store_id: str, order_id: str) -> list[tuple[str, str]]:
        """(customer, debit id) of the debits that paid the order."""
        return [
            (item["customer_id"]["S"], item["entry_id"]["S"])
            for item in self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"ORDER#{store_id}#{order_id}"},
                    ":prefix": {"S": "DEBIT#"},
                },
                ConsistentRead=True,
            )
        ]

    def close_order(self, store_id: str, order_id: str) -> None:
        """A tombstone: the order was cancelled; no debit may pay it any more."""
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"ORDER#{store_id}#{order_id}"},
                "sk": {"S": "CLOSED"},
                "entity": {"S": "order-closed"},
            },
        )

    def order_closed(self, store_id: str, order_id: str) -> bool:
        return "Item" in self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"ORDER#{store_id}#{order_id}"}, "sk": {"S": "CLOSED"}},
            ConsistentRead=True,
        )
