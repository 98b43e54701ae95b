"""The credits API, driven in-process through Chalice's test client against moto.

Each operation is measured like the customers section (bench/api.py: requests counted by a
botocore hook, capacity billed from item sizes in bench/billing.py): a grant, a debit over 1,
10 and 200 lots (200 exceeds one transaction: the two-step path), a full reversal of the
10-lot debit, a wallet's page, a `GET /wallets` page, a coupon redemption and a referral
sign-up.

Two more figures per operation:

- Capacity per partition key. A hook of its own bills each request's items to the partition
  key they live under: the table's `pk`, and for every index whose key the item has before or
  after the write, the index's partition key (its write billed on the projected item, an index
  write is not transactional). Reads go to the key of the GetItem or Query. Per sample, each
  key's units are added up; the table shows, per key, the most any one sample put on it.
  Labels hash ids: `<store>` is the bench store, `c:xxxx` a customer (or referral), `o:xxxx` an
  order.
- Our own code's time per request: the wall time of the request through the test client minus
  the time inside the AWS clients' calls (botocore's `before-call` to `after-call`, registered
  first and last so the meter's own reads fall inside and are subtracted), as the reports
  section does. It holds routing, the authorizer, validation, the ledger's rules and item
  conversion, and botocore building requests; on moto, not on Lambda.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalice.test import Client

from bench.api import Api, BenchError
from bench.billing import Params, Peek, writes_of
from bench.itemsize import TRANSACTION_FACTOR, item_size, read_units, write_units
from bench.stack import LocalStack, Measurement
from bench.text import heading, number, table

STORE = "bench-credits-store"
# Lots a setup transaction writes (an entry and a lot each, plus the balance and the counter).
SETUP_LOTS_PER_COMMIT = 45
CURRENCY = "BRL"
LOT = "1.00"


@dataclass
class Sizes:
    """How many samples and lots; the test runs tiny ones."""

    samples: int = 5
    big_lots: int = 200  # more than a transaction holds (96 lots): the two-step debit
    wallet_lots: int = 10

    @property
    def store_wallets(self) -> int:
        return 10 * self.samples


@dataclass
class CreditsRun:
    """One measured operation: the meter's usage, keys' units, our own code's time."""

    measurement: Measurement
    keys: dict[str, list[float]] = field(default_factory=dict)  # label -> [RCU, WCU], max/sample
    own_ms: float = 0.0  # per request


# --- capacity per partition key -----------------------------------------------------------


class KeyLabels:
    """Readable, stable labels for partition key values: ids hashed, the store named."""

    def __init__(self, store: str) -> None:
        self.store = store

    def __call__(self, value: str) -> str:
        parts = value.split("#")
        kind = parts[0]
        out = [kind]
        for index, part in enumerate(parts[1:], start=1):
            if part == self.store:
                out.append("<store>")
            elif len(part) >= 16:  # an id
                prefix = "o" if "ORDER" in kind and index == 2 else "c"
                out.append(f"{prefix}:{hashlib.sha1(part.encode()).hexdigest()[:4]}")  # noqa: S324
            else:
                out.append(part)
        return "#".join(out)


@dataclass
class _Index:
    name: str
    hash_key: str
    keys: list[str]  # every key attribute it holds (its own and the table's)
    projection: str
    include: list[str]


class KeyMeter:
    """Bills each DynamoDB request's units to the partition keys it touches."""

    def __init__(self, stack: LocalStack, labels: KeyLabels) -> None:
        self._db = stack.internal_client("dynamodb")
        self._peek = Peek(self._db)
        self._labels = labels
        self._schemas: dict[str, tuple[str, list[str], list[_Index]]] = {}
        self.units: dict[str, list[float]] | None = None

    def install(self, client: Any) -> None:
        # Not on `before-call.dynamodb`: more specific handlers run before the clock starts.
        client.meta.events.register("before-call", self._before_call)
        client.meta.events.register("after-call", self._after_call)

    @contextmanager
    def sample(self) -> Iterator[dict[str, list[float]]]:
        self.units = {}
        try:
            yield self.units
        finally:
            self.units = None

    def _schema(self, table: str) -> tuple[str, list[str], list[_Index]]:
        if table not in self._schemas:
            found = self._db.describe_table(TableName=table)["Table"]
            keys = [part["AttributeName"] for part in found["KeySchema"]]
            indexes = []
            for index in found.get("GlobalSecondaryIndexes", []):
                own = [part["AttributeName"] for part in index["KeySchema"]]
                projection = index["Projection"]
                indexes.append(
                    _Index(
                        index["IndexName"],
                        own[0],
                        [*own, *keys],
                        projection["ProjectionType"],
                        projection.get("NonKeyAttributes", []),
                    )
                )
            self._schemas[table] = (keys[0], keys, indexes)
        return self._schemas[table]

    def _item(self, table: str, key: Params) -> Params | None:
        answer = self._db.get_item(TableName=table, Key=dict(key), ConsistentRead=True)
        item: Params | None = answer.get("Item")
        return item

    def _add(self, value: str, rcu: float = 0.0, wcu: float = 0.0) -> None:
        assert self.units is not None
        units = self.units.setdefault(self._labels(value), [0.0, 0.0])
        units[0] += rcu
        units[1] += wcu

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.units is None or model.service_model.service_name != "dynamodb":
            return
        writes = writes_of(model.name, context.get("bench.params", {}), self._peek)
        context["bench.key-writes"] = [(w, self._item(w.table, w.key)) for w in writes]

    def _after_call(self, model: Any, parsed: Params, context: dict[str, Any], **_: Any) -> None:
        if self.units is None or model.service_model.service_name != "dynamodb":
            return
        params = context.get("bench.params", {})
        ok = "Error" not in parsed
        writes = context.get("bench.key-writes", [])
        if writes:
            for write, before in writes:
                self._bill_write(write, before, ok=ok)
        elif ok:
            self._bill_read(model.name, params, parsed)

    def _bill_write(self, write: Any, before: Params | None, *, ok: bool) -> None:
        hash_key, _, indexes = self._schema(write.table)
        if not ok or write.kind == "check":
            after = before
        elif write.kind == "put":
            after = write.item
        elif write.kind == "update":
            after = self._item(write.table, write.key)
        else:
            after = None
        billed = max(item_size(before), item_size(after))
        self._add(write.key[hash_key]["S"], wcu=write_units(billed) * write.factor)
        if not ok or write.kind == "check":
            return
        for index in indexes:
            old, new = _projected(index, before), _projected(index, after)
            old_key = before[index.hash_key]["S"] if old is not None and before else None
            new_key = after[index.hash_key]["S"] if new is not None and after else None
            if old_key is not None and old_key == new_key:
                if old != new:  # an update in place (unchanged projections cost nothing)
                    self._add(new_key, wcu=write_units(max(item_size(old), item_size(new))))
                continue
            if old_key is not None:
                self._add(old_key, wcu=write_units(item_size(old)))
            if new_key is not None:
                self._add(new_key, wcu=write_units(item_size(new)))

    def _bill_read(self, api: str, params: Params, answer: Params) -> None:
        consistent = bool(params.get("ConsistentRead"))
        if api == "GetItem":
            table = params["TableName"]
            hash_key = self._schema(table)[0]
            item = answer.get("Item")
            size = item_size(self._item(table, params["Key"])) if item else 0
            self._add(params["Key"][hash_key]["S"], rcu=read_units(size, consistent=consistent))
        elif api in ("Query", "Scan"):
            value = _queried_key(params) if api == "Query" else "SCAN"
            sizes = sum(item_size(item) for item in answer.get("Items", []))
            self._add(value, rcu=read_units(sizes, consistent=consistent))
        elif api == "TransactGetItems":
            for action, response in zip(
                params["TransactItems"], answer.get("Responses", []), strict=False
            ):
                get = action["Get"]
                hash_key = self._schema(get["TableName"])[0]
                size = item_size(response.get("Item"))
                units = read_units(size, consistent=True) * TRANSACTION_FACTOR
                self._add(get["Key"][hash_key]["S"], rcu=units)
        elif api == "BatchGetItem":
            for table, found in answer.get("Responses", {}).items():
                hash_key = self._schema(table)[0]
                consistent = bool(params["RequestItems"][table].get("ConsistentRead"))
                for item in found:
                    units = read_units(item_size(item), consistent=consistent)
                    self._add(item[hash_key]["S"], rcu=units)


def _projected(index: _Index, item: Params | None) -> Params | None:
    """The item as the index holds it, or None if the item is not in the index."""
    if not item or index.hash_key not in item or any(k not in item for k in index.keys[:2]):
        return None
    if index.projection == "ALL":
        return item
    kept = set(index.keys) | (set(index.include) if index.projection == "INCLUDE" else set())
    return {name: value for name, value in item.items() if name in kept}


def _queried_key(params: Params) -> str:
    """The partition key value a Query names (`<hash> = :value`)."""
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    condition = params["KeyConditionExpression"]
    for name_ref, value_ref in re.findall(r"([#\w]+)\s*=\s*(:\w+)", condition):
        name = names.get(name_ref, name_ref)
        if name in ("pk", "gpk", "dpk") or not name.endswith(("sk", "created", "_id", "_at")):
            return str(values[value_ref]["S"])
    return "?"


# --- time inside the AWS clients ------------------------------------------------------------


class AwsClock:
    """Wall time inside the app's AWS client calls, hooks first and last (the meter's inside)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started: float | None = None

    def install(self, client: Any) -> None:
        client.meta.events.register_first("before-call", self._before)
        client.meta.events.register_last("after-call", self._after)

    def _before(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, **_: Any) -> None:
        if self._started is not None:
            self.total += time.perf_counter() - self._started
            self._started = None


# --- the scenario ---------------------------------------------------------------------------


def _install(stack: LocalStack) -> tuple[KeyMeter, AwsClock]:
    from bench.stack import METERED_SERVICES  # noqa: PLC0415
    from clientela import aws  # noqa: PLC0415

    keys = KeyMeter(stack, KeyLabels(STORE))
    clock = AwsClock()
    for service in METERED_SERVICES:
        client = aws.client(service)
        clock.install(client)
        if service == "dynamodb":
            keys.install(client)
    return keys, clock


def run(stack: LocalStack, sizes: Sizes | None = None) -> list[CreditsRun]:
    sizes = sizes or Sizes()
    # The credits service alone (and the platform's bus and keys): it calls no other service.
    stack.reset(stacks=("platform", "credits"))
    keys, clock = _install(stack)
    with Client(stack.apps["credits"].app) as client:
        return _Scenario(stack, Api(client, STORE), keys, clock, sizes).run()


class _Scenario:
    def __init__(
        self, stack: LocalStack, api: Api, keys: KeyMeter, clock: AwsClock, sizes: Sizes
    ) -> None:
        self.stack = stack
        self.api = api
        self.keys = keys
        self.clock = clock
        self.sizes = sizes
        self.results: list[CreditsRun] = []

    # helpers ---------------------------------------------------------------------------------

    def measure(self, name: str, inputs: list[Any], action: Callable[[Any], Any]) -> list[Any]:
        busiest: dict[str, list[float]] = {}
        outputs = []
        own = 0.0
        with self.stack.measure(name, len(inputs)) as measurement:
            for value in inputs:
                with self.keys.sample() as units:
                    self.clock.total = 0.0
                    started = time.perf_counter()
                    outputs.append(action(value))
                    own += time.perf_counter() - started - self.clock.total
                for label, (rcu, wcu) in units.items():
                    top = busiest.setdefault(label, [0.0, 0.0])
                    top[0], top[1] = max(top[0], rcu), max(top[1], wcu)
        self.results.append(CreditsRun(measurement, busiest, own * 1000 / len(inputs)))
        return outputs

    def customer(self) -> str:
        from chalicelib.credits.wallets.usecases import wallet_store  # noqa: PLC0415
        from clientela.ids import new_id  # noqa: PLC0415

        customer_id = new_id()
        wallet_store().open(STORE, customer_id, datetime.now(UTC))
        return customer_id

    def grant(self, customer_id: str, amount: str = LOT) -> dict[str, Any]:
        body = {"kind": "bonus", "amount": amount, "currency": CURRENCY}
        answer: dict[str, Any] = self.api.call(
            "POST",
            f"/wallets/{customer_id}/credits",
            body,
            expect=201,
            idempotency_key=uuid.uuid4().hex,
        )
        return answer

    def debit(self, customer_id: str, lots: int) -> dict[str, Any]:
        body = {"amount": f"{lots}.00", "currency": CURRENCY, "order_id": uuid.uuid4().hex[:20]}
        answer: dict[str, Any] = self.api.call(
            "POST",
            f"/wallets/{customer_id}/debits",
            body,
            expect=201,
            idempotency_key=uuid.uuid4().hex,
        )
        taken = answer.get("entry", answer).get("lots") or answer.get("lots") or []
        if taken and len(taken) != lots:
            raise BenchError(f"a debit of {lots} lots took {len(taken)}")
        return answer

    def wallets_with(self, count: int, lots: int) -> list[str]:
        """Wallets of `lots` lots of 1.00 each. Set up, not measured: written by the ledger's
        own rules and store, a few dozen lots per transaction, instead of one API posting per
        lot (which reads every lot of the wallet each time: quadratic, and the slow part)."""
        from chalicelib.credits.ledger.rules import Ledger, LotKind  # noqa: PLC0415
        from chalicelib.credits.ledger.store import Change, summarise  # noqa: PLC0415
        from chalicelib.credits.ledger.usecases import ledger_store  # noqa: PLC0415
        from clientela.ids import new_id  # noqa: PLC0415

        store = ledger_store()
        customers = [self.customer() for _ in range(count)]
        for customer_id in customers:
            for start in range(0, lots, SETUP_LOTS_PER_COMMIT):
                state = store.load(STORE, customer_id, CURRENCY)
                ledger = Ledger(CURRENCY, lots=dict(state.lots), balance=state.balance)
                at = datetime.now(UTC)
                entries = [
                    ledger.credit(
                        entry_id=new_id(),
                        lot_id=new_id(),
                        kind=LotKind.BONUS,
                        amount=Decimal(LOT),
                        at=at,
                        expires_at=None,
                        origin={"admin": "bench"},
                        note=None,
                        key=f"bench-{new_id()}",
                        body={},
                    )
                    for _ in range(min(SETUP_LOTS_PER_COMMIT, lots - start))
                ]
                made = [ledger.lots[e.lot_id or ""] for e in entries]
                summary = summarise(
                    list(ledger.lots.values()), state.cashback, entries, timedelta(days=7)
                )
                store.commit(state, Change(entries, made, None, ""), summary)
        return customers

    # the operations ----------------------------------------------------------------------------

    def run(self) -> list[CreditsRun]:
        n, lots = self.sizes.samples, self.sizes.wallet_lots
        walleted = self.wallets_with(n, lots)
        self.measure(f"grant (wallet of {lots} lots)", walleted, self.grant)
        self.measure("debit over 1 lot", walleted, lambda c: self.debit(c, 1))
        ten = self.wallets_with(n, 10)
        debits = self.measure("debit over 10 lots", ten, lambda c: self.debit(c, 10))
        self.measure(
            "reversal of a 10-lot debit",
            list(zip(ten, debits, strict=True)),
            self._revert,
        )
        big = self.wallets_with(1, self.sizes.big_lots)
        self.measure(
            f"debit over {self.sizes.big_lots} lots (two steps)",
            big,
            lambda c: self.debit(c, self.sizes.big_lots),
        )
        self.measure(
            f"GET /wallets/{{id}} ({lots + 1} lots, {lots + 3} entries)",
            walleted,
            lambda c: self.api.call("GET", f"/wallets/{c}", expect=200),
        )
        more = max(0, self.sizes.store_wallets - len(walleted) - len(ten) - len(big))
        self.wallets_with(more, 1)
        self.measure(
            f"GET /wallets ({self.sizes.store_wallets} wallets in store)",
            [None] * n,
            lambda _: self.api.call("GET", f"/wallets?currency={CURRENCY}", expect=200),
        )
        self._coupons(walleted)
        self._referrals(walleted[0])
        return self.results

    def _revert(self, pair: tuple[str, dict[str, Any]]) -> Any:
        customer_id, answer = pair
        entry = answer.get("entry", answer)
        return self.api.call(
            "POST",
            f"/wallets/{customer_id}/debits/{entry['entry_id']}/reversal",
            {},
            expect=201,
            idempotency_key=uuid.uuid4().hex,
        )

    def _coupons(self, customers: list[str]) -> None:
        codes = []
        for customer_id in customers:
            body = {"customer_id": customer_id, "amount": "10.00", "currency": CURRENCY}
            codes.append(self.api.call("POST", "/coupons", body, expect=201)["code"])
        self.measure(
            "coupon redemption",
            list(zip(customers, codes, strict=True)),
            lambda pair: self.api.call(
                "POST",
                f"/coupons/{pair[1]}/redemptions",
                {
                    "order_id": uuid.uuid4().hex[:20],
                    "customer_id": pair[0],
                    "subtotal": "50.00",
                    "currency": CURRENCY,
                },
                expect=201,
            ),
        )

    def _referrals(self, referrer: str) -> None:
        programme = {
            "referrer_reward": "20.00",
            "friend_reward": "10.00",
            "currency": CURRENCY,
            "hold_window_days": 14,
            "share_base_url": "https://loja.example/ref",
        }
        self.api.call("PUT", "/referrals/programme", programme, expect=200, If_Match="*")
        code = self.api.call("POST", "/referrers", {"customer_id": referrer}, expect=201)["code"]
        friends = [self.customer() for _ in range(self.sizes.samples)]
        self.measure(
            "referral sign-up (POST /referrals)",
            friends,
            lambda friend: self.api.call(
                "POST", "/referrals", {"code": code, "customer_id": friend}, expect=201
            ),
        )


# --- the report -------------------------------------------------------------------------------

HEADERS = [
    "operation", "n", "DynamoDB requests", "items R", "bytes R", "RCU", "items W", "bytes W",
    "WCU", "EventBridge", "own code ms", "moto check",
]  # fmt: skip
KEY_HEADERS = ["operation", "partition key", "RCU", "WCU"]
BUSIEST = 8


def _row(result: CreditsRun) -> list[str]:
    from bench.report import _cells, _check, dynamodb_calls  # noqa: PLC0415

    m = result.measurement
    events = sum(m.usage.requests_of("events").values()) / m.samples
    return [
        m.name, str(m.samples), dynamodb_calls(m), *_cells(m.usage.combined(), m.samples),
        number(events), number(result.own_ms, 1), _check(m),
    ]  # fmt: skip


def _elided(kind: str) -> str:
    """Shard numbers and coupon codes elided, like ids: one row per kind of key."""
    kind = re.sub(r"#\d+$", "#<shard>", kind)
    return re.sub(r"^COUPON#<store>#[A-Z0-9-]+$", "COUPON#<store>#<code>", kind)


def _busiest(result: CreditsRun) -> list[tuple[str, float, float]]:
    """Per kind of key (ids elided: one row for all customers' keys), the busiest key's units."""
    kinds: dict[str, list[float]] = {}
    for label, (rcu, wcu) in result.keys.items():
        top = kinds.setdefault(_elided(re.sub(r"\b([co]):[0-9a-f]{4}", r"\1:*", label)), [0, 0])
        top[0], top[1] = max(top[0], rcu), max(top[1], wcu)
    ranked = sorted(kinds.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    return [(label, rcu, wcu) for label, (rcu, wcu) in ranked[:BUSIEST]]


def render(results: list[CreditsRun]) -> str:
    key_rows = []
    for result in results:
        label = result.measurement.name
        for key, rcu, wcu in _busiest(result):
            key_rows.append([label, key, number(rcu, 1), number(wcu, 1)])
            label = ""
    return "\n".join(
        [
            heading("Credits API: AWS requests, capacity and our code's time per request"),
            table(HEADERS, [_row(r) for r in results]),
            "",
            "  Per request, mean over n; RCU / WCU billed from item sizes as in the API section",
            "  (transactions double; '+': a lower bound). Index writes are not in these columns",
            "  (the API section's rule); they are in the per-key table below. 'own code ms': wall",
            "  time of the request through the test client minus the time inside botocore calls",
            "  (moto answering, parsing, the meter's reads), per request, on this machine.",
            "",
            "  Busiest partition keys: the most units one request put on one key (table `pk` and",
            "  index partition keys; an index write is billed on the projected item), per kind of",
            "  key: `c:*` any customer, `o:*` any order, `<shard>` any of a store's 16 shards.",
            table(KEY_HEADERS, key_rows, indent=4),
        ]
    )


def as_json(results: list[CreditsRun]) -> list[dict[str, Any]]:
    from bench.report import api_json  # noqa: PLC0415

    documents = api_json([r.measurement for r in results])
    for document, result in zip(documents, results, strict=True):
        document["own_code_ms"] = round(result.own_ms, 2)
        document["busiest_keys"] = [
            {"key": key, "rcu": rcu, "wcu": wcu} for key, rcu, wcu in _busiest(result)
        ]
    return documents
