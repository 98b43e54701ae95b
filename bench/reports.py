"""The customer reports over a store with many orders: what they read, and what our code costs.

The store's orders (100 000 by default, a year of a busy Spanish shop: 25 000 e-mails, 400
products of 30 brands in 12 categories, 4% cancelled, 3% partly refunded) are written straight
to the table with BatchWriteItem, each item built by the service's own `order_store.order_item`
from orders that went through the domain's rules. Through the API that would take hours on
moto; the table holds exactly what the API would have left (the customer items apart, which
the reports never read).

Each report then runs once through the API (Chalice's test client, authorizer included) over
the whole year and over one month, with the meter on. "our code" is the wall time of the
request minus the time spent inside the AWS clients' calls (from botocore's `before-call` to
its `after-call`: sending, moto answering, botocore parsing the answer), so it holds the
route, the reading of each order's `report`, the grouping, the sort and the JSON answer. moto
runs in this process, so process time would count moto too: the split is by wall time.
botocore's parsing is shown apart: it is CPU our function pays on Lambda as well.
"aggregation" is the pure grouping and sort alone (`chalicelib.customers.orders.reports.rules`),
timed on the same orders already in memory (best of three). moto keeps the table in this process; it
is frozen out of the garbage collector's sight while the reports run, as on Lambda our heap
would not hold it.

moto is slow: even sped up (`bench/fastmoto.py`, same answers) its Query copies every item
it returns (about 1.3 ms per order), so the section takes about eight minutes at 100 000 orders
and runs only when asked for (`python -m bench --only reports`; `--report-orders 10000` gives
a quick look, the figures being per 10 000 orders either way).
"""

from __future__ import annotations

import gc
import random
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalice.test import Client

from bench.api import Api, BenchError
from bench.copies import customers_table
from bench.fastmoto import faster_moto
from bench.itemsize import item_size, read_units
from bench.stack import METERED_SERVICES, LocalStack, Measurement
from bench.text import heading, number, table
from clientela import aws, ids

STORE = "bench-reports"
ORDERS = 100_000
EMAILS = 25_000
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365
BRANDS = [
    "Montaña", "Sierra", "Marea", "Olivo", "Trébol", "Cántabro", "Lince", "Brisa", "Atlas",
    "Duna", "Faro", "Ibérica", "Jara", "Nácar", "Alba", "Roble", "Sal", "Tesela", "Umbría",
    "Vela", "Zafra", "Cierzo", "Granate", "Helecho", "Levante", "Mistral", "Pinar", "Quimera",
    "Ribera", "Solana",
]  # fmt: skip
CATEGORIES = [
    "Calzado", "Accesorios", "Camisetas", "Pantalones", "Chaquetas", "Mochilas", "Calcetines",
    "Gorras", "Relojes", "Gafas", "Camping", "Ciclismo",
]  # fmt: skip


@dataclass
class ReportRun:
    name: str
    query: str
    orders_in_period: int  # every order placed in the period, cancelled ones included
    rows: int
    measurement: Measurement
    wall: float
    in_aws: float
    parsing: float  # botocore parsing the answers, within `in_aws`
    aggregation: float
    billed_bytes: int  # what DynamoDB reads for the query: whole index items


@dataclass
class Seeded:
    items: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _catalogue(rng: random.Random) -> list[tuple[str, str, str, str, str, Decimal]]:
    products = []
    for n in range(400):
        brand = BRANDS[n % len(BRANDS)]
        category = CATEGORIES[(n * 7) % len(CATEGORIES)]
        price = Decimal(rng.randrange(395, 24900)) / 100
        name = f"{category} {brand} modelo {n:03d}"
        products.append((f"p-{n:04d}", f"SKU-{n:05d}", name, brand, category, price))
    return products


def build_orders(count: int, seed: int = 4) -> list[dict[str, Any]]:
    """`count` order items of one store, as the service stores them."""
    from chalicelib.customers.orders.rules import LineItem, Order, Refund, cancel, place, refund  # noqa: PLC0415
    from chalicelib.customers.orders.store import order_item  # noqa: PLC0415 - app's own code

    rng = random.Random(seed)
    products = _catalogue(rng)
    # Some e-mails order often, most rarely; one in ten also ordered as a guest (2 customer ids).
    owners = [[ids.new_id()] for _ in range(EMAILS)]
    for extra in rng.sample(range(EMAILS), EMAILS // 10):
        owners[extra].append(ids.new_id())
    items = []
    for n in range(count):
        who = min(int(EMAILS * rng.random() ** 2.5), EMAILS - 1)
        lines = tuple(
            LineItem(pid, sku, name, rng.choice((1, 1, 1, 2, 3)), price, brand, category)
            for pid, sku, name, brand, category, price in rng.sample(
                products, rng.choice((1, 1, 2, 2, 3, 4))
            )
        )
        placed_at = YEAR_START + timedelta(seconds=rng.randrange(DAYS * 86_400))
        order = place(
            Order(
                order_id=f"ES-{100_000 + n}",
                email=f"cliente.{who:05d}@ejemplo.es",
                placed_at=placed_at,
                currency="EUR",
                total=sum((line.amount for line in lines), Decimal("4.95")),
                items=lines,
                customer_id=rng.choice(owners[who]),
            ),
            None,
        )
        roll = rng.random()
        if roll < 0.04:
            order, _ = cancel(order, placed_at + timedelta(hours=2))
        elif roll < 0.07:
            order, _ = refund(order, Refund(f"RF-{n}", placed_at + timedelta(days=3), Decimal(5)))
        items.append(order_item(STORE, order))
    return items


def _recorder(stack: LocalStack, action: str) -> None:
    url = f"{stack.endpoint}/moto-api/recorder/{action}"
    request = urllib.request.Request(url, method="POST", data=b"")  # noqa: S310
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 - local moto


def seed(stack: LocalStack, count: int) -> Seeded:
    started = time.perf_counter()
    items = build_orders(count)
    _recorder(stack, "stop-recording")  # the seed is not what is measured: keep it off the log
    db = stack.internal_client("dynamodb")
    table_name = customers_table()
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        pending: dict[str, Any] = {table_name: requests}
        while pending:
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return Seeded(items, time.perf_counter() - started)


class _AwsClock:
    """Wall time inside the app's AWS client calls: sending and waiting, then parsing.

    `before-call` to `before-parse`: the request on the wire and moto answering; `before-parse`
    to `needs-retry` (emitted right after): botocore parsing the answer, CPU our function pays
    on Lambda too; up to `after-call`: the rest of the call, the bench's meter included.
    """

    def __init__(self) -> None:
        self.total = 0.0
        self.parsing = 0.0
        self._started: float | None = None
        self._parse_started: float | None = None

    def reset(self) -> None:
        self.total = self.parsing = 0.0

    def install(self) -> None:
        for service in METERED_SERVICES:
            events = aws.client(service).meta.events
            events.register("before-call", self._before)
            events.register("before-parse", self._before_parse)
            events.register("needs-retry", self._parsed)
            events.register("after-call", self._after)

    def _before(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _before_parse(self, **_: Any) -> None:
        self._parse_started = time.perf_counter()

    def _parsed(self, **_: Any) -> None:
        if self._parse_started is not None:
            self.parsing += time.perf_counter() - self._parse_started
            self._parse_started = None

    def _after(self, **_: Any) -> None:
        if self._started is not None:
            self.total += time.perf_counter() - self._started
            self._started = None


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _period_items(items: list[dict[str, Any]], first: str, last: str) -> list[dict[str, Any]]:
    start = _stamp(datetime.fromisoformat(first).replace(tzinfo=UTC))
    end = _stamp(datetime.fromisoformat(last).replace(tzinfo=UTC) + timedelta(days=1))
    return [i for i in items if start <= i["placed_at"]["S"] < end]


def _aggregate(name: str, query: dict[str, Any], items: list[dict[str, Any]]) -> float:
    """Seconds the pure grouping and sort take over these orders, already in memory."""
    from chalicelib.customers.orders.reports import rules as reports  # noqa: PLC0415
    from chalicelib.customers.orders.store import report_fact  # noqa: PLC0415

    facts = [report_fact(i) for i in items if i["status"]["S"] != "cancelled"]
    first = _stamp(datetime.fromisoformat(query["from"]).replace(tzinfo=UTC))
    last = _stamp(datetime.fromisoformat(query["to"]).replace(tzinfo=UTC) + timedelta(days=1))
    period = reports.Period(first, last)
    best = float("inf")
    for _ in range(3):  # the best of three: one run is at the mercy of the machine
        started = time.perf_counter()
        if name.startswith("sales"):
            catalogue = reports.CatalogueFilter.of([], query["brand"], query["category"])
            rows = reports.sales_by_customer(facts, period, catalogue)
        else:
            minimum = Decimal(query["spent_min"])
            criteria = reports.FrequencyCriteria(int(query["orders_min"]), minimum)
            rows = reports.purchase_frequency(facts, period, criteria)
        reports.sort_rows(rows, query["sort"])
        best = min(best, time.perf_counter() - started)
    return best


REPORTS: list[tuple[str, dict[str, Any]]] = [
    (
        "sales-by-customer",
        {"brand": ["Montaña", "Sierra"], "category": ["Calzado"], "sort": "-amount"},
    ),
    ("purchase-frequency", {"orders_min": "2", "spent_min": "100", "sort": "-orders"}),
]
PERIODS = [("year", "2025-12-01", "2026-11-30"), ("March", "2026-03-01", "2026-03-31")]


def _query_string(query: dict[str, Any]) -> str:
    parts = []
    for name, value in query.items():
        values = value if isinstance(value, list) else [value]
        parts += [f"{name}={urllib.parse.quote(str(v))}" for v in values]
    return "&".join(parts)


def run(stack: LocalStack, count: int = ORDERS) -> tuple[Seeded, list[ReportRun]]:
    with faster_moto():  # moto's own answers, minutes sooner (bench/fastmoto.py)
        return _seed_and_run(stack, count)


def _seed_and_run(stack: LocalStack, count: int) -> tuple[Seeded, list[ReportRun]]:
    stack.reset()
    seeded = seed(stack, count)
    clock = _AwsClock()
    clock.install()
    # moto keeps the table in this process: out of the collector's sight, as on Lambda, where
    # our heap holds only the pages read. Otherwise every full collection walks 100 000 items.
    gc.collect()
    gc.freeze()
    try:
        return seeded, _run_reports(stack, seeded, clock)
    finally:
        gc.unfreeze()


def _run_reports(stack: LocalStack, seeded: Seeded, clock: _AwsClock) -> list[ReportRun]:
    results = []
    with Client(stack.apps["customers"].app) as client:
        api = Api(client, STORE)
        # First requests of the process fetch the signing and cursor keys: not part of a report.
        warm_up = "/reports/purchase-frequency?from=2026-03-01&to=2026-03-01&limit=1"
        if not api.call("GET", warm_up, expect=200)["next_cursor"]:
            raise BenchError("the warm-up report has a single page: the cursor key is not read")
        for period_name, first, last in PERIODS:
            in_period = _period_items(seeded.items, first, last)
            for name, filters in REPORTS:
                query = {"from": first, "to": last, **filters, "limit": "100"}
                path = f"/reports/{name}?{_query_string(query)}"
                clock.reset()
                with stack.measure(f"{name}, {period_name}", 1) as measurement:
                    started = time.perf_counter()
                    page = api.call("GET", path, expect=200)
                    wall = time.perf_counter() - started
                if not page["items"]:
                    raise BenchError(f"{name} over {period_name} found no rows")
                results.append(
                    ReportRun(
                        name=f"{name}, {period_name}",
                        query=_query_string(query),
                        orders_in_period=len(in_period),
                        rows=int(page["total_rows"]),
                        measurement=measurement,
                        wall=wall,
                        in_aws=clock.total,
                        parsing=clock.parsing,
                        aggregation=_aggregate(name, query, in_period),
                        billed_bytes=sum(item_size(i) for i in in_period),
                    )
                )
    return results


HEADERS = [
    "report, period", "orders", "rows", "DynamoDB requests", "items returned", "items read",
    "RCU (billed)", "wall ms", "in AWS calls ms", "our code ms", "our code ms/10k",
    "aggregation ms/10k", "botocore parsing ms/10k",
]  # fmt: skip


def _row(r: ReportRun) -> list[str]:
    use = r.measurement.usage.combined()
    per_10k = 10_000 / r.orders_in_period
    rcu = read_units(r.billed_bytes, consistent=False)  # pages add at most half a unit each
    ours = r.wall - r.in_aws
    requests = ", ".join(f"{api} x{n}" for api, n in r.measurement.usage.requests.items())
    return [
        r.name,
        str(r.orders_in_period),
        str(r.rows),
        requests,
        str(use.items_read),
        str(r.orders_in_period),
        number(rcu, 1),
        number(r.wall * 1000, 0),
        number(r.in_aws * 1000, 0),
        number(ours * 1000, 0),
        number(ours * 1000 * per_10k, 1),
        number(r.aggregation * 1000 * per_10k, 1),
        number(r.parsing * 1000 * per_10k, 1),
    ]


def render(result: tuple[Seeded, list[ReportRun]]) -> str:
    seeded, runs = result
    total_bytes = sum(item_size(i) for i in seeded.items)
    notes = (
        f"  {len(seeded.items)} orders seeded in {number(seeded.seconds, 1)} s (BatchWriteItem,"
        f" not measured); mean order item {number(total_bytes / len(seeded.items), 0)} bytes.\n"
        "  One Query of the index `orders_by_date` per 1 MB page of orders in the period; the\n"
        "  projection trims what travels, not what is billed: 'items read' (every order of the\n"
        "  period, cancelled ones too, filtered out after the read) and 'RCU' (eventually\n"
        "  consistent, 4 KB per half unit, on whole items) are what AWS bills. 'items returned'\n"
        "  is what reached our code. 'our code' = wall - time inside AWS client calls (moto's\n"
        "  answer and botocore's parsing included there): route, authorizer, item conversion,\n"
        "  grouping, sort, JSON. 'aggregation' = the pure grouping and sort alone, same orders.\n"
        "  'botocore parsing' (inside 'in AWS calls') is CPU the function pays on AWS too.\n"
        "  moto's Query walks the whole table, so 'in AWS calls' says nothing about AWS.\n"
        "  GetSecretValue: the cursor key (next_cursor), cached 5 minutes."
    )
    title = heading(f"Reports over {len(seeded.items)} orders of one store")
    return f"{title}\n{table(HEADERS, [_row(r) for r in runs])}\n\n{notes}"


def as_json(result: tuple[Seeded, list[ReportRun]]) -> dict[str, Any]:
    seeded, runs = result
    return {
        "orders": len(seeded.items),
        "seed_seconds": round(seeded.seconds, 1),
        "reports": [
            {
                "report": r.name,
                "query": r.query,
                "orders_in_period": r.orders_in_period,
                "rows": r.rows,
                "requests": dict(r.measurement.usage.requests),
                "items_returned": r.measurement.usage.combined().items_read,
                "billed_bytes": r.billed_bytes,
                "wall_ms": round(r.wall * 1000, 1),
                "in_aws_calls_ms": round(r.in_aws * 1000, 1),
                "our_code_ms": round((r.wall - r.in_aws) * 1000, 1),
                "our_code_ms_per_10k_orders": round(
                    (r.wall - r.in_aws) * 1000 * 10_000 / r.orders_in_period, 1
                ),
                "aggregation_ms_per_10k_orders": round(
                    r.aggregation * 1000 * 10_000 / r.orders_in_period, 1
                ),
                "botocore_parsing_ms_per_10k_orders": round(
                    r.parsing * 1000 * 10_000 / r.orders_in_period, 1
                ),
                "unmetered": r.measurement.unmetered,
            }
            for r in runs
        ],
    }
