"""A Black-Friday hour for one store, and the same peak over 10,000 small stores.

`python -m bench --only scale`. The real use cases (create a customer, record an order as the
store platform's `order.placed` does, patch a profile) and both stream consumers
(`publish_customer_changes`, `record_customer_history`, fed the table's stream records in
batches of 100 as Lambda would) run against moto, scaled down in volume: each simulated second
holds `1000/k` creates, `1000/k` orders and `200/k` edits (k = `--scale-divisor`), each on a
customer or order of its own, as a peak's traffic is.

Every request's read and write units are billed to the partition key it touches, on the table
and on each index (its write billed on the projected item), from item sizes as
bench/billing.py does (KeyMeter of bench/credits.py, per index). Units per second on a key:

- a key holding one entity (a customer, its timeline, an order, an e-mail reservation: an id
  or an address in the key) sees one operation of its own in a second of peak: its units;
- any other key (a store shard's list, search entries, counters, the store's own partition)
  sees every operation of the store: its units times k. A store shard's key (`...#<n>`) shows
  as `...#*`: the mean over the store's shards, which an even spread of customers gives.

The hottest key is compared with what one partition key serves, 1,000 WCU and 3,000 RCU a
second. Run from the branch's first commit (`--scale-shards 1` only: that code has no shards)
for "before". The 10,000-store peak runs `--scale-stores` stores doing one operation of each
kind, each store at a tenth of an operation a second.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalice.app import DynamoDBEventConfig

from bench.billing import Params
from bench.copies import customers_table
from bench.credits import KeyMeter, _projected, _queried_key
from bench.itemsize import TRANSACTION_FACTOR, item_size, read_units, write_units
from bench.stack import REGION, LocalStack
from bench.streamread import StreamReader, lambda_record
from bench.text import heading, number, table
from clientela_local.lambda_context import new_context

RATES = {"create": 1000, "order": 1000, "edit": 200}  # a second of Black Friday
WCU_LIMIT = 1000
RCU_LIMIT = 3000
STREAM_BATCH = 100
COUNTRIES = ["BR", "ES", "PT", "US", "MX"]
TAGS = ["vip", "newsletter", "b2b", "outlet"]


@dataclass
class Options:
    divisor: int = 50  # k: the simulated second holds 1000/k creates
    shards: tuple[int, ...] = (1, 16)
    stores: int = 20  # small stores sampled for the 10,000-store peak
    count_customers: int = 200  # measured, then extrapolated to 100,000


@dataclass
class OpCost:
    samples: int = 0
    requests: int = 0
    rcu: float = 0.0
    wcu: float = 0.0

    def mean(self) -> tuple[float, float, float]:
        n = max(self.samples, 1)
        return self.requests / n, self.rcu / n, self.wcu / n


@dataclass
class Scenario:
    name: str
    shards: int
    keys: dict[str, list[float]] = field(default_factory=dict)  # key -> [RCU/s, WCU/s]
    costs: dict[str, OpCost] = field(default_factory=dict)
    counts: dict[str, tuple[int, float, str]] = field(default_factory=dict)
    shared_across_stores: int = 0
    total: list[float] = field(default_factory=lambda: [0.0, 0.0])  # the store's RCU/s, WCU/s

    def hottest(self, column: int) -> tuple[str, float]:
        if not self.keys:
            return ("-", 0.0)
        key = max(self.keys, key=lambda k: self.keys[k][column])
        return key, self.keys[key][column]


class IndexKeyMeter(KeyMeter):
    """KeyMeter with each index's partition keys apart from the table's and each other's."""

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
        self._add("table " + write.key[hash_key]["S"], wcu=write_units(billed) * write.factor)
        if not ok or write.kind == "check":
            return
        for index in indexes:
            old, new = _projected(index, before), _projected(index, after)
            old_key = before[index.hash_key]["S"] if old is not None and before else None
            new_key = after[index.hash_key]["S"] if new is not None and after else None
            if old_key is not None and old_key == new_key:
                if old != new:
                    units = write_units(max(item_size(old), item_size(new)))
                    self._add(f"{index.name} {new_key}", wcu=units)
                continue
            if old_key is not None:
                self._add(f"{index.name} {old_key}", wcu=write_units(item_size(old)))
            if new_key is not None:
                self._add(f"{index.name} {new_key}", wcu=write_units(item_size(new)))

    def _bill_read(self, api: str, params: Params, answer: Params) -> None:
        consistent = bool(params.get("ConsistentRead"))
        if api == "GetItem":
            hash_key = self._schema(params["TableName"])[0]
            item = answer.get("Item")
            size = item_size(self._item(params["TableName"], params["Key"])) if item else 0
            units = read_units(size, consistent=consistent)
            self._add("table " + params["Key"][hash_key]["S"], rcu=units)
        elif api == "Query":
            where = params.get("IndexName", "table")
            items = answer.get("Items", [])
            if params.get("Select") == "COUNT":  # billed on the items counted, as read
                again = {k: v for k, v in params.items() if k != "Select"}
                again["ExclusiveStartKey"] = params.get("ExclusiveStartKey")
                if again["ExclusiveStartKey"] is None:
                    del again["ExclusiveStartKey"]
                items = self._db.query(**again).get("Items", [])
            sizes = sum(item_size(item) for item in items)
            units = read_units(sizes, consistent=consistent)
            self._add(f"{where} {_queried_key(params)}", rcu=units)
        elif api == "TransactGetItems":
            for action, response in zip(
                params["TransactItems"], answer.get("Responses", []), strict=False
            ):
                get = action["Get"]
                hash_key = self._schema(get["TableName"])[0]
                units = read_units(item_size(response.get("Item")), consistent=True)
                self._add("table " + get["Key"][hash_key]["S"], rcu=units * TRANSACTION_FACTOR)
        elif api == "BatchGetItem":
            # Billed on the whole item even when a projection trims the answer (which may
            # then hold no key): each requested key that was answered, as stored.
            for table_name, found in answer.get("Responses", {}).items():
                hash_key = self._schema(table_name)[0]
                request = params["RequestItems"][table_name]
                consistent = bool(request.get("ConsistentRead"))
                stored = [self._item(table_name, key) for key in request["Keys"]]
                for item in [i for i in stored if i is not None][: len(found)]:
                    units = read_units(item_size(item), consistent=consistent)
                    self._add("table " + item[hash_key]["S"], rcu=units)


class _Requests:
    """DynamoDB requests the app's client sends (the meter's own reads go elsewhere)."""

    def __init__(self) -> None:
        self.count = 0

    def install(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self._seen)

    def _seen(self, **_: Any) -> None:
        self.count += 1


# The shard number in a store-wide key: `STORE#<store>#3`, `...#SEARCH#3`, `...#TAG#3#vip`.
_SHARD = re.compile(r"(#<store>#(?:SEARCH#|COUNT#|TAG#)?)(\d+)(?=#|$)")


def _labels(store: str) -> Any:
    def label(value: str) -> str:
        return value.replace(store, "<store>")

    return label


def _entity(key: str, store: str) -> bool:
    """Whether a key holds one entity (an id or an e-mail address in it)."""
    value = key.split(" ", 1)[1].replace(store, "")
    return any(len(part) >= 16 or "@" in part for part in value.split("#"))


def _profile(rng: random.Random, n: int) -> dict[str, Any]:
    first = rng.choice(["Ana", "João", "María", "Lucas", "Emily", "Chen", "Olga", "Ravi"])
    last = rng.choice(["Silva", "García", "Smith", "Rossi", "Nguyen", "Kowalski"])
    return {
        "email": f"bf{n}.{rng.randint(0, 10**9)}@example.com",
        "first_name": first,
        "last_name": last,
        "phone": f"+55119{rng.randint(10000000, 99999999)}",
        "country": rng.choice(COUNTRIES),
        "city": rng.choice(["São Paulo", "Madrid", "Lisboa", "Austin"]),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
    }


class _Peak:
    """The use cases and stream consumers of one run, metered per operation."""

    def __init__(self, stack: LocalStack) -> None:
        from chalicelib.customers.orders import usecases as orders  # noqa: PLC0415
        from chalicelib.customers.orders.rules import LineItem, Order  # noqa: PLC0415
        from chalicelib.customers.profiles import usecases as profiles  # noqa: PLC0415
        from clientela import aws  # noqa: PLC0415

        self.stack = stack
        self.profiles, self.orders = profiles, orders
        self.order_type, self.line_type = Order, LineItem
        self.meter = IndexKeyMeter(stack, _labels("\x00"))
        self.requests = _Requests()
        client = aws.client("dynamodb")
        self.meter.install(client)
        self.requests.install(client)
        self.reader = StreamReader(stack, customers_table())
        loaded = stack.apps["customers"]
        self.loaded = loaded
        self.sources = [s for s in loaded.app.event_sources if isinstance(s, DynamoDBEventConfig)]
        self.rng = random.Random(12)
        self.made = 0

    def grow(self, store: str, shards: int) -> None:
        store_of = self.profiles.customer_store()
        grow = getattr(store_of, "grow_shards", None)
        if shards > 1:
            assert grow is not None, "this code has no shards: run with --scale-shards 1"
            grow(store, shards, now=datetime.now(UTC) - timedelta(hours=1))

    def create(self, store: str) -> str:
        self.made += 1
        return str(self.profiles.create_customer(store, _profile(self.rng, self.made)).id)

    def order(self, store: str, customer_id: str) -> None:
        from clientela.ids import new_id  # noqa: PLC0415

        price = Decimal(self.rng.randint(500, 30000)) / 100
        line = self.line_type("p-1", "SKU-1", "Black Friday deal", 1, price)
        order = self.order_type(
            order_id=f"BF-{new_id()}",
            email=f"{customer_id.lower()}@example.com",
            placed_at=datetime.now(UTC),
            currency="USD",
            total=price,
            items=(line,),
            customer_id=customer_id,
        )
        self.orders.record_orders(store, [order])

    def edit(self, store: str, customer_id: str) -> None:
        changes = {"city": self.rng.choice(["Porto", "Sevilla", "Recife"]), "tags": ["vip"]}
        self.profiles.update_customer(store, customer_id, changes, self.profiles.Precondition())

    def metered(self, cost: OpCost, units: dict[str, list[float]], action: Any) -> None:
        before = self.requests.count
        with self.meter.sample() as sample:
            action()
        cost.samples += 1
        cost.requests += self.requests.count - before
        for key, (rcu, wcu) in sample.items():
            cost.rcu += rcu
            cost.wcu += wcu
            total = units.setdefault(key, [0.0, 0.0])
            total[0] += rcu
            total[1] += wcu

    def consume_stream(self, costs: dict[str, OpCost], units: dict[str, list[float]]) -> None:
        records = [lambda_record(r, self.reader.arn) for r in self.reader.read()]
        for source in self.sources:
            name = source.handler_string.rsplit(".", 1)[-1]
            for start in range(0, len(records), STREAM_BATCH):
                batch = records[start : start + STREAM_BATCH]
                context = new_context(
                    self.loaded.app.app_name,
                    name,
                    region=REGION,
                    account="123456789012",
                    memory_mb=self.loaded.memory_mb,
                    timeout_seconds=self.loaded.timeout_seconds,
                )
                handler = getattr(self.loaded.module, name)
                cost = costs.setdefault(f"stream: {name} (per record)", OpCost())
                before = cost.samples
                self.metered(
                    cost, units, lambda h=handler, b=batch, c=context: h({"Records": b}, c)
                )
                cost.samples = before + len(batch)


def _black_friday(stack: LocalStack, options: Options, shards: int) -> Scenario:
    stack.reset()
    peak = _Peak(stack)
    store = f"bf-store-{shards}"
    peak.grow(store, shards)
    k = options.divisor
    per_second = {name: max(rate // k, 1) for name, rate in RATES.items()}
    # Customers who buy and edit during the peak, made before it (unmetered).
    buyers = [peak.create(store) for _ in range(per_second["order"] + per_second["edit"])]
    peak.reader.read()
    scenario = Scenario(f"one store, {shards} shard{'s' if shards > 1 else ''}", shards)
    units: dict[str, list[float]] = {}
    for n in range(per_second["create"]):
        peak.metered(scenario.costs.setdefault("create customer", OpCost()), units,
                     lambda: peak.create(store))  # fmt: skip
        if n < per_second["order"]:
            buyer = buyers[n]
            peak.metered(scenario.costs.setdefault("record order", OpCost()), units,
                         lambda b=buyer: peak.order(store, b))  # fmt: skip
        if n < per_second["edit"]:
            edited = buyers[per_second["order"] + n]
            peak.metered(scenario.costs.setdefault("edit profile", OpCost()), units,
                         lambda e=edited: peak.edit(store, e))  # fmt: skip
    peak.consume_stream(scenario.costs, units)
    for rcu, wcu in units.values():
        scenario.total[0] += rcu * k
        scenario.total[1] += wcu * k
    for key, (rcu, wcu) in units.items():
        factor = 1 if _entity(key, store) else k
        # A store shard's key at full rate: the shards' mean (customers spread evenly over
        # them; a scaled-down sample of a few per shard would only add noise).
        shape, sharded = _SHARD.subn(r"\1*", key.replace(store, "<store>"))
        per_key = scenario.keys.setdefault(shape, [0.0, 0.0])
        spread = shards if sharded else 1
        per_key[0] += rcu * factor / spread
        per_key[1] += wcu * factor / spread
    _count_reads(peak, store, options, scenario)
    return scenario


def _count_reads(peak: _Peak, store: str, options: Options, scenario: Scenario) -> None:
    """Count reads at `count_customers`, extrapolated to 100,000 when they grow with size."""
    from chalicelib.customers.search import usecases as search  # noqa: PLC0415
    from chalicelib.customers.search.rules import CustomerFilter  # noqa: PLC0415

    have = peak.made
    for _ in range(max(options.count_customers - have, 0)):
        peak.create(store)
    size = max(options.count_customers, have)
    now = datetime.now(UTC)
    cases = {
        "whole store": CustomerFilter(now=now),
        "a tag (vip)": CustomerFilter(tags=("vip",), now=now),
        "a country (ES)": CustomerFilter(country="ES", now=now),
        "a segment: new (30 days)": CustomerFilter(created_from=now - timedelta(days=30), now=now),
        "a segment: active buyers": CustomerFilter(orders_min=1, status="active", now=now),
    }
    for name, flt in cases.items():
        cost = OpCost()
        peak.metered(cost, {}, lambda f=flt: search.count_customers(store, f))
        with_source = getattr(search, "count_customers_with_source", None)
        source = with_source(store, flt)[1] if with_source else "query"
        grows = source != "counters"
        scale = 100_000 / size if grows else 1.0
        how = f"extrapolated x{round(scale)}" if grows else "measured (constant)"
        # A Query answers at most 1 MB: read bytes (eventually consistent: 8 KB a unit) over
        # 1 MB is the fewest requests the count can take at 100,000.
        pages = math.ceil(cost.rcu * scale * 8 / 1024) if grows else cost.requests
        scenario.counts[name] = (max(cost.requests, pages), cost.rcu * scale, how)


def _small_stores(stack: LocalStack, options: Options) -> Scenario:
    """10,000 stores of 100 customers at the same peak: each store a tenth of an op a second."""
    stack.reset()
    peak = _Peak(stack)
    scenario = Scenario("10,000 stores of 100", 1)
    units: dict[str, list[float]] = {}
    stores = [f"small-{n:05d}" for n in range(options.stores)]
    for store in stores:
        buyer, edited = peak.create(store), peak.create(store)
        peak.metered(scenario.costs.setdefault("create customer", OpCost()), units,
                     lambda s=store: peak.create(s))  # fmt: skip
        peak.metered(scenario.costs.setdefault("record order", OpCost()), units,
                     lambda s=store, b=buyer: peak.order(s, b))  # fmt: skip
        peak.metered(scenario.costs.setdefault("edit profile", OpCost()), units,
                     lambda s=store, e=edited: peak.edit(s, e))  # fmt: skip
    peak.consume_stream(scenario.costs, units)
    per_store = RATES["create"] / 10_000  # operations of each kind a store does a second
    owners: dict[str, set[str]] = defaultdict(set)
    for key, (rcu, wcu) in units.items():
        for store in stores:
            if store in key:
                owners[key].add(store)
        scenario.keys[key] = [rcu * per_store, wcu * per_store]
    scenario.shared_across_stores = sum(1 for key in units if len(owners[key]) != 1)
    return scenario


def run(stack: LocalStack, options: Options | None = None) -> list[Scenario]:
    options = options or Options()
    started = time.perf_counter()
    found = [_black_friday(stack, options, shards) for shards in options.shards]
    found.append(_small_stores(stack, options))
    found[0].counts.setdefault("_seconds", (0, time.perf_counter() - started, ""))
    return found


def render(scenarios: list[Scenario]) -> str:
    lines = [heading("Scale: a Black-Friday second (1,000 orders, 1,000 sign-ups, 200 edits)")]
    rows = []
    for s in scenarios:
        (wkey, wcu), (rkey, rcu) = s.hottest(1), s.hottest(0)
        rows.append(
            [
                s.name,
                f"{number(wcu)} WCU/s ({100 * wcu / WCU_LIMIT:.0f}%)",
                wkey,
                f"{number(rcu)} RCU/s ({100 * rcu / RCU_LIMIT:.0f}%)",
                rkey,
            ]
        )
    lines.append(table(["scenario", "hottest write key", "key", "hottest read key", "key"], rows))
    for s in scenarios:
        lines.append(f"\n{s.name}: the ten hottest keys (units per second)")
        hot = sorted(
            s.keys.items(), key=lambda kv: -max(kv[1][1] / WCU_LIMIT, kv[1][0] / RCU_LIMIT)
        )
        lines.append(
            table(["key", "RCU/s", "WCU/s"], [[k, number(r), number(w)] for k, (r, w) in hot[:10]])
        )
        cost_rows = []
        for name, cost in s.costs.items():
            requests, rcu, wcu = cost.mean()
            cost_rows.append([name, f"{requests:.2f}", f"{rcu:.2f}", f"{wcu:.2f}"])
        lines.append(table(["operation", "requests", "RCU", "WCU"], cost_rows))
        if not s.name.startswith("10,000"):
            lines.append(
                f"the store at peak: {number(s.total[0])} RCU/s, {number(s.total[1])} WCU/s"
                " (every key, the stream consumers included)"
            )
        if s.counts:
            count_rows = [
                [name, str(requests), number(rcu), how]
                for name, (requests, rcu, how) in s.counts.items()
                if not name.startswith("_")
            ]
            lines.append("Count reads at 100,000 customers")
            lines.append(table(["count", "requests", "RCU", "how"], count_rows))
        if s.name.startswith("10,000"):
            lines.append(f"keys touched by more than one store: {s.shared_across_stores}")
    return "\n".join(lines)


def as_json(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    return [
        {
            "scenario": s.name,
            "shards": s.shards,
            "hottest_wcu": s.hottest(1),
            "hottest_rcu": s.hottest(0),
            "costs": {
                n: dict(zip(("requests", "rcu", "wcu"), c.mean(), strict=True))
                for n, c in s.costs.items()
            },
            "counts": s.counts,
            "total": s.total,
            "keys": s.keys,
        }
        for s in scenarios
    ]
