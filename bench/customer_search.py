"""Customers search: DynamoDB requests and items read per page, for each filter and sort shape.

For stores of 10 000 and 100 000 customers (`--customers`), every shape of the list's filters
and sorts is read through `search.find` (a first page of 50, then the page after it) and a few
through `search.count`, with the metered client the app uses. Each row says which way the
planner reads (`search.plan`), whether its key serves every filter (no residual), and what the
reads cost.

The store is seeded straight into the table: moto applies a transaction item by item, so 100 000
API creates would take hours. Each customer is built as the app's models hold it (profile,
consents, and the order and activity aggregates the orders code keeps, drawn as
tests/service/test_customer_search.py draws them), `CustomerStore.add` is run against a
recorder instead of DynamoDB, and the items it would have written (the customer, its e-mail
reservation, search entries, tag memberships) are written with BatchWriteItem, 25 at a time;
each tag's count item is written once with the sum of its increments. Seeding and searching run
under `bench.fastmoto.faster_moto()`: moto's answers, without its cost of sorting the whole
table for every query (100 000 customers are 730 000 items).
"""

from __future__ import annotations

import math
import random
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from ulid import ULID

from bench.copies import customers_table
from bench.fastmoto import faster_moto
from bench.itemsize import READ_UNIT_BYTES, item_size
from bench.stack import LocalStack, Measurement
from bench.text import heading, number, table
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.profiles.store import CustomerStore
from chalicelib.customers.search import plans as search
from chalicelib.customers.search.rules import CustomerFilter
from clientela import aws
from clientela.customer_filter import fold

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SIZES = (10_000, 100_000)
PAGE_SIZE = 50
BATCH = 25  # BatchWriteItem's most items per request
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit
SEED = 20_240_601
STORE = "bench-search"
NOW = datetime.now(UTC).replace(microsecond=0)


class BenchError(RuntimeError):
    """The seed or a search did not behave as it must: the figures would mean nothing."""


# Who the customers are: (country, language, share), cities (first ones more common), e-mail
# domains and phone shapes. About one customer in twelve has no address at all.
COUNTRIES: tuple[tuple[str | None, str, float], ...] = (
    ("BR", "pt", 0.34),
    ("PT", "pt", 0.07),
    ("ES", "es", 0.14),
    ("MX", "es", 0.06),
    ("AR", "es", 0.03),
    ("IT", "it", 0.10),
    ("GB", "en", 0.07),
    ("US", "en", 0.06),
    ("FR", "fr", 0.05),
    (None, "", 0.08),
)
CITIES = {
    "BR": ["São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Porto Alegre",
           "Salvador", "Recife", "Goiânia", "Florianópolis", "Brasília"],
    "PT": ["Lisboa", "Porto", "Braga", "Coimbra", "Faro"],
    "ES": ["Madrid", "Barcelona", "València", "Sevilla", "Málaga", "A Coruña", "Bilbao"],
    "MX": ["Ciudad de México", "Guadalajara", "Monterrey", "Puebla", "Mérida"],
    "AR": ["Buenos Aires", "Córdoba", "Rosario", "Mendoza"],
    "IT": ["Roma", "Milano", "Napoli", "Torino", "Firenze", "Bologna", "Forlì"],
    "GB": ["London", "Manchester", "Birmingham", "Leeds", "Glasgow"],
    "US": ["New York", "Los Angeles", "Chicago", "Houston", "Miami"],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Besançon"],
}  # fmt: skip
FIRST_NAMES = {
    "pt": ["João", "José", "Maria", "Ana", "Antônio", "Francisco", "Luís", "Paulo", "Letícia",
           "Joana", "Júlia", "Gonçalo", "Inês", "Conceição", "Sebastião", "Fábio", "Márcia",
           "Thiago", "Beatriz", "Vitória", "Jorge", "Mariana"],
    "es": ["José", "María", "Lucía", "Jorge", "Javier", "Íñigo", "Begoña", "Ángel", "Sofía",
           "Martín", "Raúl", "Pilar", "Jesús", "Nuria", "Óscar", "Josefina", "Carmen", "Jordi"],
    "it": ["Giulia", "Marco", "Giuseppe", "Francesca", "Niccolò", "Chiara", "Lorenzo",
           "Alessandro", "Federica", "Luca", "Giovanni", "Elisa", "Sara", "Matteo"],
    "en": ["Emily", "John", "Oliver", "Jack", "Olivia", "Joshua", "Charlotte", "James",
           "Amelia", "George", "Joseph", "Sophie", "Harry", "Zoë"],
    "fr": ["Zoé", "Hélène", "François", "Joël", "Jérôme", "Amélie", "Léa", "Clément",
           "Élodie", "Noël", "Chloé", "Joséphine"],
}  # fmt: skip
LAST_NAMES = {
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Conceição", "Gonçalves", "Araújo",
           "Pereira", "Magalhães", "Brandão", "Lima", "Ribeiro", "Simões", "Assunção",
           "Fonseca", "Costa"],
    "es": ["García", "Fernández", "Martínez", "López", "Núñez", "Pérez", "Sánchez", "Gómez",
           "Jiménez", "Muñoz", "Peña", "Ibáñez", "Álvarez", "Ruiz", "Castaño"],
    "it": ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
           "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Lombardi"],
    "en": ["Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Wilson", "Johnson",
           "O'Brien", "Evans", "Thomas", "Roberts"],
    "fr": ["Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Rousseau", "Fontaine",
           "Chevalier", "Leroy", "Müller"],
}  # fmt: skip
DOMAINS = {
    "BR": ["gmail.com", "hotmail.com", "yahoo.com.br", "uol.com.br", "bol.com.br", "outlook.com"],
    "PT": ["gmail.com", "sapo.pt", "hotmail.com"],
    "ES": ["gmail.com", "hotmail.es", "yahoo.es", "outlook.es"],
    "MX": ["gmail.com", "hotmail.com", "outlook.com"],
    "AR": ["gmail.com", "hotmail.com.ar", "yahoo.com.ar"],
    "IT": ["gmail.com", "libero.it", "virgilio.it", "outlook.it"],
    "GB": ["gmail.com", "outlook.com", "btinternet.com", "icloud.com"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com"],
    "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net"],
}
PHONES = {  # E.164 prefix, national digits after it
    "BR": [("+5511", 9), ("+5521", 9), ("+5531", 9), ("+5541", 9), ("+5551", 9)],
    "PT": [("+3519", 8)],
    "ES": [("+346", 8)],
    "MX": [("+5255", 8), ("+5233", 8)],
    "AR": [("+54911", 8)],
    "IT": [("+393", 9)],
    "GB": [("+447", 9)],
    "US": [("+1212", 7), ("+1305", 7)],
    "FR": [("+336", 8)],
}
TAGS = (  # ten tags, some far more common than others
    ("newsletter", 30), ("first-purchase", 20), ("loyalty-club", 15), ("vip", 10),
    ("winback", 10), ("black-friday", 8), ("wholesale", 4), ("b2b", 3), ("influencer", 2),
    ("staff", 1),
)  # fmt: skip
EMAIL_CONSENT = (("subscribed", 40), ("unsubscribed", 12), ("pending", 5), ("never_asked", 43))
SMS_CONSENT = (("subscribed", 20), ("unsubscribed", 5), ("never_asked", 75))


def _pick(rng: Any, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _plain(text: str) -> str:
    return fold(text).replace(" ", "").replace("'", "")


class _People:
    """Random customers of one store, reproducible from the seed."""

    def __init__(self, store_id: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store_id = store_id
        self.emails: set[str] = set()
        self.ids: set[str] = set()

    def _id(self, created: datetime) -> str:
        while True:
            found = str(ULID.from_datetime(created))
            if found not in self.ids:
                self.ids.add(found)
                return found

    def _email(self, first: str | None, last: str | None, country: str | None, n: int) -> str:
        rng = self.rng
        f, la = _plain(first or "cliente"), _plain(last or str(n))
        local = _pick(
            rng,
            [
                (f"{f}.{la}", 40),
                (f"{f}{la}", 20),
                (f"{f}_{la}", 8),
                (f"{f[0]}{la}", 12),
                (f"{f}.{la}{rng.randint(1, 99)}", 12),
                (f"{f}{rng.randint(1960, 2008)}", 8),
            ],
        )
        domain = rng.choice(DOMAINS.get(country or "", DOMAINS["US"]))
        email = f"{local}@{domain}"
        if email in self.emails:
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _phone(self, country: str | None) -> str:
        prefix, digits = self.rng.choice(PHONES.get(country or "", PHONES["US"]))
        return prefix + "".join(str(self.rng.randint(0, 9)) for _ in range(digits))

    def customer(self, n: int) -> Customer:
        rng = self.rng
        country, language, _ = _pick(rng, [(c, c[2]) for c in COUNTRIES])
        names = language or rng.choice(list(FIRST_NAMES))
        first = rng.choice(FIRST_NAMES[names]) if rng.random() < 0.97 else None
        last = rng.choice(LAST_NAMES[names]) if rng.random() < 0.92 else None
        city = None
        if country and rng.random() < 0.9:
            options = CITIES[country]
            city = rng.choices(options, weights=[1 / (i + 1) for i in range(len(options))])[0]
        # More recent customers than old ones, over three years.
        created = NOW - timedelta(seconds=int(3 * 365 * 86400 * rng.random() ** 1.5))
        email = self._email(first, last, country, n) if rng.random() < 0.95 else None
        phone = self._phone(country) if email is None or rng.random() < 0.6 else None
        tags = sorted(
            {_pick(rng, TAGS) for _ in range(_pick(rng, [(0, 35), (1, 35), (2, 20), (3, 10)]))}
        )
        customer = Customer(
            id=self._id(created),
            store_id=self.store_id,
            created_at=created,
            updated_at=created,
            version=1,
            email=email,
            phone=phone,
            first_name=first,
            last_name=last,
            city=city,
            country=country,
            language=language or None,
            gender=_pick(rng, [("female", 45), ("male", 40), ("undisclosed", 5), (None, 10)]),
            tags=tags,
            favorite=rng.random() < 0.1,
            email_consent=self._consent(email, EMAIL_CONSENT, created),
            sms_consent=self._consent(phone, SMS_CONSENT, created),
        )
        return self._aggregates(customer)

    def _consent(self, contact: str | None, states: Any, created: datetime) -> Consent:
        state = _pick(self.rng, states) if contact else "never_asked"
        if state == "never_asked":
            return Consent()
        level = self.rng.choice(["single", "confirmed"]) if state == "subscribed" else None
        return Consent(state, level, created, self.rng.choice(["signup", "checkout", "import"]))

    def _aggregates(self, c: Customer) -> Customer:
        """As tests/service/test_customer_search.py::_set_aggregates draws them, with a time of
        day, and never before the customer was created."""
        rng = self.rng
        orders = rng.choice([0, 0, 1, 2, 3, 5, 8])
        spent = Decimal(rng.randint(0, 200000)) / 100 if orders else Decimal(0)
        last_order = None
        if orders:
            ago = timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86399))
            last_order = max(NOW - ago, c.created_at)
        seen = None
        if rng.random() < 0.8:
            ago = timedelta(days=rng.randint(0, 300), seconds=rng.randint(0, 86399))
            seen = max(NOW - ago, c.created_at)
        first_order = (
            c.created_at + (last_order - c.created_at) * rng.random() if last_order else None
        )
        return replace(
            c,
            orders_count=orders,
            total_spent=spent,
            first_order_at=first_order,
            last_order_at=last_order,
            last_seen_at=seen,
            last_device=rng.choice(["ios", "android", "desktop"]) if seen else None,
            rating_count=orders,
            rating_sum=Decimal(orders * rng.randint(1, 5)),
        )


class _Recorder:
    """Stands in for DynamoDB under `CustomerStore.add`: keeps the items the write would put."""

    TAG_COUNT = "ADD customers :delta SET tag = :tag"

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.tag_counts: Counter[tuple[str, str, str]] = Counter()  # (pk, sk, tag) -> count

    def transact_write_items(self, **request: Any) -> None:
        for action in request["TransactItems"]:
            ((kind, body),) = action.items()
            self._take(kind, body)

    def put_item(self, **request: Any) -> None:
        self._take("Put", request)

    def update_item(self, **request: Any) -> None:
        self._take("Update", request)

    def delete_item(self, **request: Any) -> None:
        self._take("Delete", request)

    def _take(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "Put":
            self.items.append(body["Item"])
        elif kind == "Update" and body["UpdateExpression"] == self.TAG_COUNT:
            values = body["ExpressionAttributeValues"]
            key = (body["Key"]["pk"]["S"], body["Key"]["sk"]["S"], values[":tag"]["S"])
            self.tag_counts[key] += int(values[":delta"]["N"])
        else:
            raise BenchError(f"CustomerStore.add wrote something the seed cannot copy: {kind}")

    def count_items(self) -> list[dict[str, Any]]:
        """Each tag's count item, as the increments leave it."""
        return [
            {"pk": {"S": pk}, "sk": {"S": sk}, "customers": {"N": str(n)}, "tag": {"S": tag}}
            for (pk, sk, tag), n in sorted(self.tag_counts.items())
        ]


@dataclass
class Seeded:
    store_id: str
    customers: list[Customer]
    items: int
    build_seconds: float
    write_seconds: float
    customer_bytes: float  # mean size of a customer item


def _stop_recording(stack: LocalStack) -> None:
    """moto's request recorder would log every seed write: off until the next measurement."""
    url = f"{stack.endpoint.rstrip('/')}/moto-api/recorder/stop-recording"
    request = urllib.request.Request(url, method="POST", data=b"")  # noqa: S310
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 - local moto


def seed(stack: LocalStack, size: int) -> Seeded:
    started = time.perf_counter()
    store_id = f"{STORE}-{size}"
    people = _People(store_id, SEED + size)
    recorder = _Recorder()
    writer = CustomerStore(cast("DynamoDBClient", recorder), customers_table())
    customers = []
    customer_bytes = 0
    for n in range(size):
        customer = people.customer(n)
        before = len(recorder.items)
        writer.add(customer)
        customer_bytes += item_size(recorder.items[before])
        customers.append(customer)
    items = recorder.items + recorder.count_items()
    largest = max(item_size(item) for item in items)
    if largest > MAX_ITEM_BYTES:  # faster_moto() stores items without DynamoDB's size check
        raise BenchError(f"the seed made an item of {largest} bytes")
    built = time.perf_counter()
    _stop_recording(stack)
    db = stack.internal_client("dynamodb", parameter_validation=False)  # the store's items
    name = customers_table()
    for start in range(0, len(items), BATCH):
        pending: Any = {name: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH]]}
        while pending:
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        if start and start % (BATCH * 4000) == 0:
            print(f"  search bench: {start} of {len(items)} items written", file=sys.stderr)
    return Seeded(
        store_id,
        customers,
        len(items),
        built - started,
        time.perf_counter() - built,
        customer_bytes / size,
    )


@dataclass(frozen=True)
class Shape:
    name: str
    filters: dict[str, Any] = field(default_factory=dict)
    sort: str | None = None
    count: bool = False

    def filter(self) -> CustomerFilter:
        return CustomerFilter(now=NOW, **self.filters)


def shapes() -> list[Shape]:
    days_60 = NOW - timedelta(days=60)
    return [
        Shape("no filter (newest)", count=True),
        Shape("sort name", sort="name"),
        Shape("sort -total_spent", sort="-total_spent"),
        Shape("sort orders_count", sort="orders_count"),
        Shape("sort -last_order_at", sort="-last_order_at"),
        Shape("sort last_seen_at", sort="last_seen_at"),
        Shape("country=BR", {"country": "BR"}, count=True),
        Shape("city=sao paulo", {"city": "sao paulo"}),
        Shape("favorite", {"favorite": True}),
        Shape("email_consent=subscribed", {"email_consent": "subscribed"}),
        Shape("tag=vip", {"tags": ("vip",)}, count=True),
        Shape("tag any of vip, wholesale", {"tags": ("vip", "wholesale")}),
        Shape("tag all of newsletter, vip", {"tags": ("newsletter", "vip"), "tag_mode": "all"}),
        Shape("status=active", {"status": "active"}, count=True),
        Shape("spent_min=500", {"spent_min": Decimal(500)}),
        Shape("orders_min=2", {"orders_min": 2}),
        Shape("never_ordered", {"never_ordered": True}),
        Shape("last_order_before 60 days ago", {"last_order_before": days_60}),
        Shape("created_from 7 days ago", {"created_from": NOW - timedelta(days=7)}),
        Shape("q=jo (name prefix)", {"q": "jo"}, count=True),
        Shape("q=maria.s (e-mail prefix)", {"q": "maria.s"}),
        Shape("q=+55 11 9 (phone prefix)", {"q": "+55 11 9"}),
        Shape(
            "spent_min=500 + last_order_before 60d",
            {"spent_min": Decimal(500), "last_order_before": days_60},
            count=True,
        ),
        Shape("country=BR + tag=vip", {"country": "BR", "tags": ("vip",)}),
        Shape("rating_min=4 (residual only)", {"rating_min": Decimal(4)}, count=True),
    ]


class _Scanned:
    """ScannedCount of each Query the app's client sends, and Select COUNT queries apart."""

    def __init__(self) -> None:
        self.scanned = 0
        self.count_queries: list[int] = []  # ScannedCount of each Select COUNT query
        self._on = False

    def instrument(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.Query", self._params)
        client.meta.events.register("after-call.dynamodb.Query", self._answer)

    @contextmanager
    def measure(self) -> Iterator[_Scanned]:
        self.scanned, self.count_queries, self._on = 0, [], True
        try:
            yield self
        finally:
            self._on = False

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench.search.select"] = params.get("Select")

    def _answer(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self._on or "Error" in parsed:
            return
        scanned = int(parsed.get("ScannedCount", 0))
        self.scanned += scanned
        if context.get("bench.search.select") == "COUNT":
            self.count_queries.append(scanned)


@dataclass
class Read:
    """One measured call: a page of `find` or a `count`."""

    label: str
    measurement: Measurement
    scanned: int
    rows: int  # customers on the page, or the count
    examined: int = 0
    reads: int = 0
    more: bool = False
    repeats: int = 0  # customers of this page already on the page before
    estimated_bytes: float = 0.0  # Select COUNT reads: items scanned x mean customer size
    estimated_units: float = 0.0


@dataclass
class ShapeResult:
    shape: Shape
    plan: str
    residual: list[str]
    matching: int  # customers of the store the filter matches (brute force)
    pages: list[Read] = field(default_factory=list)
    count: Read | None = None
    seconds: float = 0.0  # on moto: says nothing about AWS


@dataclass
class SizeResult:
    size: int
    seeded: Seeded
    shapes: list[ShapeResult]
    seconds: float


def describe(chosen: search.Plan) -> str:
    """Which partition or index a plan reads, and in which direction."""
    parts = []
    for source in chosen.sources:
        if source.members and chosen.sort == "match":
            parts.append("search entries")
        elif source.members:
            tag = str(source.values[":h"]["S"]).rsplit("#TAG#", 1)[-1]
            parts.append(f"tag {tag}")
        else:
            parts.append(source.index or "table")
    direction = "asc" if chosen.sources[0].forward else "desc"
    merged = " merged" if len(chosen.sources) > 1 else ""
    return " + ".join(parts) + merged + f" {direction}"


class _Run:
    def __init__(self, stack: LocalStack, seeded: Seeded) -> None:
        self.stack = stack
        self.seeded = seeded
        self.store = CustomerStore(aws.dynamodb(), customers_table())
        self.scans = _Scanned()
        self.scans.instrument(aws.dynamodb())

    @contextmanager
    def _measure(self, label: str) -> Iterator[tuple[Measurement, _Scanned]]:
        with self.stack.measure(label, 1) as measurement, self.scans.measure() as scans:
            yield measurement, scans

    def shape(self, shape: Shape) -> ShapeResult:
        started = time.perf_counter()
        flt = shape.filter()
        chosen = search.plan(self.store, self.seeded.store_id, flt, shape.sort)
        residual = sorted(set(flt.given()) - chosen.served)
        matching = sum(1 for c in self.seeded.customers if flt.matches(c))
        result = ShapeResult(shape, describe(chosen), residual, matching)
        position: dict[str, Any] | None = None
        before: set[str] = set()
        for page_number in (1, 2):
            label = f"{shape.name}, page {page_number}"
            with self._measure(label) as (measurement, scans):
                page = search.find(
                    self.store,
                    self.seeded.store_id,
                    flt,
                    sort=shape.sort,
                    limit=PAGE_SIZE,
                    position=position,
                )
            found = [c.id for c in page.customers]
            if len(set(found)) != len(found):
                raise BenchError(f"{label}: a customer appears twice on one page")
            result.pages.append(
                Read(
                    label,
                    measurement,
                    scans.scanned,
                    len(found),
                    page.examined,
                    page.reads,
                    more=page.position is not None,
                    repeats=len(before & set(found)),
                )
            )
            before = set(found)
            position = page.position
            if position is None:
                break
        if shape.count:
            result.count = self._count(shape, flt)
        result.seconds = time.perf_counter() - started
        return result

    def _count(self, shape: Shape, flt: CustomerFilter) -> Read:
        with self._measure(f"{shape.name}, count") as (measurement, scans):
            total = search.count(self.store, self.seeded.store_id, flt)
        size = self.seeded.customer_bytes
        return Read(
            f"{shape.name}, count",
            measurement,
            scans.scanned,
            total,
            estimated_bytes=sum(n * size for n in scans.count_queries),
            # Eventually consistent: half a unit per 4 KB, at least half a unit a request.
            estimated_units=sum(
                max(1, math.ceil(n * size / READ_UNIT_BYTES)) / 2 for n in scans.count_queries
            ),
        )


def run(stack: LocalStack, sizes: Sequence[int] = SIZES) -> list[SizeResult]:
    results = []
    for size in sizes:
        started = time.perf_counter()
        stack.reset()
        with faster_moto():
            seeded = seed(stack, size)
        print(
            f"  search bench: {size} customers seeded in "
            f"{seeded.build_seconds + seeded.write_seconds:.0f} s",
            file=sys.stderr,
        )
        measured = _Run(stack, seeded)
        with faster_moto():
            found = [measured.shape(shape) for shape in shapes()]
        results.append(SizeResult(size, seeded, found, time.perf_counter() - started))
    return results


# --- report -------------------------------------------------------------------------------------

HEADERS = [
    "shape", "plan (index, direction)", "index-served", "match", "page", "rows", "examined",
    "DynamoDB requests", "items R", "bytes R", "RCU", "moto check",
]  # fmt: skip
COUNT_HEADERS = [
    "count of", "plan (index, direction)", "result", "check", "DynamoDB requests", "items R",
    "bytes R", "RCU",
]  # fmt: skip

LEGEND = """\
  One row per call: page 1 of {page} customers (no position), then page 2 from the position
  page 1 returned; a shape whose first page is its last has one row. index-served: 'yes' when
  the plan's key condition serves every filter, else the filters checked on each customer read
  (the residual). match: customers of the store that match (brute force over the seed).
  rows: customers on the page ('+': a position to continue from). examined: what the page
  checked (SearchPage.examined). items R: items DynamoDB returned (Query items, BatchGetItem
  customers); a Query reads only what its key condition selects, so items R is also the items
  scanned. RCU: on-demand read units as billed (queries eventually consistent, BatchGetItem
  strongly consistent, 1 per customer of up to 4 KB). 'moto check': requests moto received that
  no hook counted.
  Counts read with Select COUNT when the index serves every filter: DynamoDB bills the items
  scanned but returns none, so bytes and RCU marked '~' are estimates (items scanned x the mean
  customer item of the seed); a count with a residual filter or on memberships pages through
  find (200 a page) and reads every customer."""


def _calls(m: Measurement) -> str:
    parts = []
    for api, n in m.usage.requests_of("dynamodb").items():
        parts.append(api if n == 1 else f"{api} x{n}")
    return " + ".join(parts) or "-"


def _check(m: Measurement) -> str:
    missing = m.unmetered
    return "ok" if not missing else "MISSED " + ", ".join(f"{k} x{n}" for k, n in missing.items())


def _page_row(result: ShapeResult, read: Read, first: bool) -> list[str]:
    use = read.measurement.usage.combined()
    page = read.label.rsplit(" ", 1)[-1]
    rows = str(read.rows) + ("+" if read.more else "")
    if read.repeats:
        rows += f" ({read.repeats} repeated)"
    return [
        result.shape.name if first else "",
        result.plan if first else "",
        ("no: " + ", ".join(result.residual) if result.residual else "yes") if first else "",
        number(result.matching, 0) if first else "",
        page,
        rows,
        number(read.examined, 0),
        _calls(read.measurement),
        number(use.items_read, 0),
        number(use.bytes_read, 0),
        number(use.read_units, 1),
        _check(read.measurement),
    ]


def _count_row(result: ShapeResult) -> list[str]:
    read = result.count
    assert read is not None
    use = read.measurement.usage.combined()
    items = use.items_read + (read.scanned if read.estimated_units else 0)
    if read.estimated_units:
        queries = read.measurement.usage.requests_of("dynamodb").get("Query", 0)
        units = use.read_units - 0.5 * queries + read.estimated_units
        bytes_read = f"~{number(use.bytes_read + read.estimated_bytes, 0)}"
        rcu = f"~{number(units, 1)}"
    else:
        bytes_read, rcu = number(use.bytes_read, 0), number(use.read_units, 1)
    return [
        result.shape.name,
        result.plan,
        number(read.rows, 0),
        "ok" if read.rows == result.matching else f"WRONG (match {result.matching})",
        _calls(read.measurement),
        number(items, 0),
        bytes_read,
        rcu,
    ]


def render(results: list[SizeResult]) -> str:
    out = [heading("Customers search: DynamoDB requests and items read per page")]
    for r in results:
        s = r.seeded
        out += [
            "",
            f"  {number(r.size, 0)} customers (store seeded with {number(s.items, 0)} items:"
            f" built in {s.build_seconds:.1f} s, written in {s.write_seconds:.1f} s; mean"
            f" customer item {number(s.customer_bytes, 0)} bytes)",
            "",
        ]
        rows = [
            _page_row(result, read, i == 0)
            for result in r.shapes
            for i, read in enumerate(result.pages)
        ]
        out.append(table(HEADERS, rows))
        counts = [_count_row(result) for result in r.shapes if result.count]
        if counts:
            out += ["", table(COUNT_HEADERS, counts)]
    out += ["", LEGEND.format(page=PAGE_SIZE)]
    return "\n".join(out)


def _read_json(read: Read) -> dict[str, Any]:
    m = read.measurement
    return {
        "rows": read.rows,
        "more": read.more,
        "examined": read.examined,
        "planner_reads": read.reads,
        "repeats_previous_page": read.repeats,
        "scanned": read.scanned,
        "requests": dict(m.usage.requests),
        "dynamodb": [
            {"api": api, "table": name, **use.as_dict()}
            for (api, name), use in sorted(m.usage.tables.items())
        ],
        "estimated_count_bytes": round(read.estimated_bytes),
        "estimated_count_read_units": read.estimated_units,
        "moto_received": m.received,
        "unmetered": m.unmetered,
    }


def as_json(results: list[SizeResult]) -> list[dict[str, Any]]:
    return [
        {
            "customers": r.size,
            "seed": {
                "items": r.seeded.items,
                "build_seconds": round(r.seeded.build_seconds, 1),
                "write_seconds": round(r.seeded.write_seconds, 1),
                "mean_customer_bytes": round(r.seeded.customer_bytes),
            },
            "seconds": round(r.seconds, 1),
            "shapes": [
                {
                    "shape": result.shape.name,
                    "filters": {k: str(v) for k, v in result.shape.filters.items()},
                    "sort": result.shape.sort,
                    "plan": result.plan,
                    "residual": result.residual,
                    "index_served": not result.residual,
                    "matching": result.matching,
                    "pages": [_read_json(read) for read in result.pages],
                    "count": (
                        {"value": result.count.rows, **_read_json(result.count)}
                        if result.count
                        else None
                    ),
                    "moto_seconds": round(result.seconds, 1),
                }
                for result in r.shapes
            ],
        }
        for r in results
    ]


def parse_sizes(text: str) -> list[int]:
    """`10000,100000` -> [10000, 100000] (for --customers)."""
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError("give store sizes such as 10000,100000")
    return sizes
