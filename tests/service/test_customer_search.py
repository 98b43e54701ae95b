"""Search, filters and sorts against moto: every plan returns exactly what the rules say.

Random customers and random filter combinations; paging through every page of a listing must
give the customers a brute-force `CustomerFilter.matches` over all of them gives, each once, in
the order asked for. Indexes only narrow what is read; they never change the answer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.customers import keys
from chalicelib.customers.profiles import usecases
from chalicelib.customers.profiles.rules import Consent, Customer
from chalicelib.customers.search import plans as search
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.rules import CustomerFilter, name_key
from chalicelib.customers.settings import settings
from clientela import aws

NOW = datetime.now(UTC)
FIRST = ["José", "João", "Maria", "Ana", "Giulia", "Lucía", "Emily", "Jorge", "Ângela", "Marco"]
LAST = ["Silva", "García", "Rossi", "Smith", "Souza", "Fernández", "Bianchi", "Jones"]
CITIES = ["São Paulo", "Madrid", "Roma", "London", "Lisboa"]
COUNTRIES = ["BR", "ES", "IT", "GB", "PT"]
TAGS = ["vip", "wholesale", "newsletter", "winback", "staff"]


def _set_aggregates(store_id: str, customer_id: str, rng: random.Random) -> None:
    """What the orders and activity code keep on a customer, written as they write it."""
    orders = rng.choice([0, 0, 1, 2, 3, 5, 8])
    spent = Decimal(rng.randint(0, 200000)) / 100 if orders else Decimal(0)
    last_order = NOW - timedelta(days=rng.randint(0, 400)) if orders else None
    seen = NOW - timedelta(days=rng.randint(0, 300)) if rng.random() < 0.8 else None
    names: dict[str, Any] = {
        ":n": orders,
        ":s": spent,
        ":lok": keys.stamp(last_order) if last_order else "0",
        ":lsk": keys.stamp(seen) if seen else "0",
        ":rc": orders,
        ":rs": orders * rng.randint(1, 5),
    }
    expression = (
        "SET orders_count = :n, total_spent = :s, last_order_key = :lok, last_seen_key = :lsk,"
        " rating_count = :rc, rating_sum = :rs"
    )
    if last_order:
        expression += ", last_order_at = :lo, first_order_at = :lo"
        names[":lo"] = keys.stamp(last_order)
    if seen:
        expression += ", last_seen_at = :ls"
        names[":ls"] = keys.stamp(seen)
    serializer = TypeSerializer()
    aws.dynamodb().update_item(
        TableName=settings().table,
        Key=keys.entity_key(store_id, keys.customer_sk(customer_id)),
        ConditionExpression="attribute_exists(pk)",
        UpdateExpression=expression,
        ExpressionAttributeValues={k: serializer.serialize(v) for k, v in names.items()},
    )


@pytest.fixture(scope="module")
def population(apps: dict[str, Any]) -> tuple[str, list[Customer]]:
    """A store of 70 random customers (module-scoped: built once)."""
    rng = random.Random(3)
    store_id = f"search-{rng.randint(0, 10**9)}"
    for i in range(70):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        profile: dict[str, Any] = {
            "email": f"{keys.stamp(NOW)[:4]}{i}.{last.lower()}@example.com".replace(" ", ""),
            "first_name": first if rng.random() < 0.9 else None,
            "last_name": last if rng.random() < 0.8 else None,
            "city": rng.choice(CITIES) if rng.random() < 0.8 else None,
            "country": rng.choice(COUNTRIES) if rng.random() < 0.8 else None,
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
            "favorite": rng.random() < 0.2,
        }
        if rng.random() < 0.5:
            profile["phone"] = f"+55119{rng.randint(10000000, 99999999)}"
        customer = usecases.create_customer(store_id, profile)
        if rng.random() < 0.5:
            usecases.set_consent(
                store_id,
                customer.id,
                "email",
                Consent(state=rng.choice(["subscribed", "unsubscribed", "pending"])),
            )
        _set_aggregates(store_id, customer.id, rng)
    everyone = list(search_usecases.iterate_customers(store_id, CustomerFilter(now=NOW)))
    assert len(everyone) == 70
    return store_id, everyone


def _random_filter(rng: random.Random) -> dict[str, Any]:
    pool: list[tuple[str, Any]] = [
        ("tags", tuple(rng.sample(TAGS, rng.randint(1, 2)))),
        ("tag_mode", rng.choice(["any", "all"])),
        ("favorite", rng.choice([True, False])),
        ("email_consent", rng.choice(["subscribed", "unsubscribed", "never_asked"])),
        ("country", rng.choice(COUNTRIES)),
        ("city", rng.choice(CITIES).lower()),
        ("status", rng.choice(["active", "inactive"])),
        ("created_from", NOW - timedelta(minutes=rng.randint(0, 5))),
        ("last_seen_from", NOW - timedelta(days=rng.randint(0, 300))),
        ("orders_min", rng.randint(0, 5)),
        ("orders_max", rng.randint(0, 8)),
        ("spent_min", Decimal(rng.randint(0, 2000))),
        ("spent_max", Decimal(rng.randint(0, 2000))),
        ("last_order_before", NOW - timedelta(days=rng.randint(0, 400))),
        ("last_order_after", NOW - timedelta(days=rng.randint(0, 400))),
        ("never_ordered", rng.choice([True, False])),
        ("rating_min", Decimal(rng.randint(1, 5))),
    ]
    return dict(rng.sample(pool, rng.randint(1, 3)))


def _sort_key(customer: Customer, sort: str) -> Any:
    attribute = sort.lstrip("-")
    if attribute == "name":
        return name_key(customer)
    if attribute == "created_at":
        return customer.id
    value = getattr(customer, attribute)
    if attribute in ("last_order_at", "last_seen_at"):
        return keys.stamp(value) if value else "0"
    return value


def _all_pages(store_id: str, flt: CustomerFilter, sort: str | None, limit: int) -> list[Any]:
    pages, position = [], None
    while True:
        page = search_usecases.find_customers(
            store_id, flt, sort=sort, limit=limit, position=position
        )
        pages.append(page)
        if page.position is None:
            return pages
        position = page.position
        assert len(pages) < 100, "the listing never ends"


@pytest.mark.parametrize("seed", range(40))
def test_every_plan_finds_exactly_the_matching_customers(
    population: tuple[str, list[Customer]], seed: int
) -> None:
    store_id, everyone = population
    rng = random.Random(seed)
    flt = CustomerFilter(now=NOW, **_random_filter(rng))
    sort = rng.choice(
        [
            None,
            "-created_at",
            "created_at",
            "name",
            "-total_spent",
            "orders_count",
            "-last_order_at",
            "last_seen_at",
        ]
    )

    pages = _all_pages(store_id, flt, sort, limit=rng.choice([3, 7, 50]))
    found = [c for page in pages for c in page.customers]

    expected = {c.id for c in everyone if flt.matches(c)}
    assert [c.id for c in found if c.id not in expected] == []
    assert sorted(c.id for c in found) == sorted(expected), (flt.given(), sort)
    order = pages[0].sort
    keys_in_order = [_sort_key(c, order) for c in found]
    assert keys_in_order == sorted(keys_in_order, reverse=order.startswith("-"))
    assert search_usecases.count_customers(store_id, flt) == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("jose", "José"), ("JOSÉ", "José"), ("angela", "Ângela"), ("giu", "Giulia"), ("j", "J")],
)
def test_names_match_without_case_or_accents(
    population: tuple[str, list[Customer]], query: str, expected: str
) -> None:
    store_id, everyone = population
    flt = CustomerFilter(q=query, now=NOW)

    found = [c for page in _all_pages(store_id, flt, None, 2) for c in page.customers]

    assert len(found) == len({c.id for c in found}), "a customer listed twice"
    assert {c.id for c in found} == {c.id for c in everyone if flt.matches(c)}
    assert search_usecases.count_customers(store_id, flt) == len(found)
    assert found and all(
        expected in c.display_name or (c.email or "").startswith(query.lower()) for c in found
    )


def test_full_name_initials_email_and_phone_prefixes_find_the_customer(
    population: tuple[str, list[Customer]],
) -> None:
    store_id, everyone = population
    someone = next(c for c in everyone if c.first_name and c.last_name and c.phone)
    first, last = someone.first_name or "", someone.last_name or ""
    queries = [
        f"{first} {last[0]}",  # "joão s" finds João Silva
        f"{first[0]}{last[0]}".lower(),  # initials
        (someone.email or "")[:6],
        someone.email or "",
        (someone.phone or "")[:7],
        (someone.phone or "").removeprefix("+"),
    ]
    for query in queries:
        flt = CustomerFilter(q=query, now=NOW)
        found = {c.id for page in _all_pages(store_id, flt, None, 50) for c in page.customers}
        assert someone.id in found, query


def test_an_index_served_filter_reads_about_one_page(
    population: tuple[str, list[Customer]],
) -> None:
    store_id, _ = population
    store = usecases.customer_store()
    for flt, sort in [
        (CustomerFilter(country="BR", now=NOW), None),
        (CustomerFilter(tags=("vip",), now=NOW), None),
        (CustomerFilter(spent_min=Decimal(500), now=NOW), "-total_spent"),
        (CustomerFilter(now=NOW), "name"),
        (CustomerFilter(status="inactive", now=NOW), None),
    ]:
        page = search.find(store, store_id, flt, sort=sort, limit=5, position=None)
        assert page.reads == 1
        assert page.examined <= 6


def _found(store_id: str, q: str) -> list[str]:
    """The ids `q` lists, every page followed (each page of 2, so a repeat would show)."""
    flt = CustomerFilter(q=q, now=NOW)
    return [c.id for page in _all_pages(store_id, flt, None, 2) for c in page.customers]


@pytest.fixture(scope="module")
def compound_names(apps: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Customers with compound first and last names, and a few who share their words."""
    store_id = f"compound-{random.Random(7).randint(0, 10**9)}"
    names = {
        "ana": ("Ana Júlia", "Silveira"),
        "maria": ("María José", "García López"),
        "joao": ("João Pedro", "Silva Santos"),
        "lopez": ("Lucía", "López"),
        "garcia": ("José", "García"),
        "single": ("Madonna", None),
    }
    ids = {}
    for key, (first, last) in names.items():
        profile = {"email": f"{key}@example.com", "first_name": first, "last_name": last}
        ids[key] = usecases.create_customer(store_id, profile).id
    return store_id, ids


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("silveira", {"ana"}),
        ("SILVEIRA", {"ana"}),
        ("julia", {"ana"}),
        ("júlia silv", {"ana"}),
        ("silveira, ana", {"ana"}),
        ("Silveira, Ana Júlia", {"ana"}),
        ("silveira,ana", {"ana"}),
        ("garcia", {"maria", "garcia"}),
        ("García López", {"maria"}),
        ("garcia lopez maria", {"maria"}),
        ("García López, María José", {"maria"}),
        ("lopez", {"maria", "lopez"}),
        ("lópez, maría", {"maria"}),
        ("jose", {"maria", "garcia"}),
        ("jose garcia", {"maria", "garcia"}),
        ("santos", {"joao"}),
        ("pedro silva", {"joao"}),
        ("silva santos, joao", {"joao"}),
        ("madonna", {"single"}),
        ("ajs", {"ana"}),  # initials still
    ],
)
def test_every_word_of_a_compound_name_finds_the_customer_once(
    compound_names: tuple[str, dict[str, str]], query: str, who: set[str]
) -> None:
    store_id, ids = compound_names
    everyone = list(search_usecases.iterate_customers(store_id, CustomerFilter(now=NOW)))
    flt = CustomerFilter(q=query, now=NOW)

    found = _found(store_id, query)

    assert len(found) == len(set(found)), "a customer listed twice"
    assert set(found) == {ids[key] for key in who}
    assert set(found) == {c.id for c in everyone if flt.matches(c)}
    assert search_usecases.count_customers(store_id, flt) == len(found)


@pytest.fixture(scope="module")
def phones(apps: dict[str, Any]) -> tuple[str, dict[str, str]]:
    store_id = f"phones-{random.Random(11).randint(0, 10**9)}"
    numbers = {
        "br": ("+55 11 98765-4321", None),
        "br_national": ("(21) 99876-5432", "BR"),
        "gb": ("+44 7911 123456", None),
        "us": ("+1 201-555-0123", None),
        "it": ("+39 06 1234 5678", None),
    }
    ids = {}
    for key, (phone, country) in numbers.items():
        profile: dict[str, Any] = {"phone": phone, "first_name": key}
        if country:
            profile["country"] = country
        ids[key] = usecases.create_customer(store_id, profile).id
    return store_id, ids


@pytest.mark.parametrize(
    ("query", "who"),
    [
        # Brazil: national form as a store owner types it, exact and prefix, any punctuation.
        ("11987654321", {"br"}),
        ("(11) 98765-4321", {"br"}),
        ("11 98765-4321", {"br"}),
        ("(11) 9876", {"br"}),
        ("119876", {"br"}),
        ("21998765432", {"br_national"}),
        ("(21) 99876", {"br_national"}),
        # International, with or without the +, exact and prefix.
        ("+55 11 98765-4321", {"br"}),
        ("+5511987654321", {"br"}),
        ("5511987654321", {"br"}),
        ("+55 11 9", {"br"}),
        ("+55 21", {"br_national"}),
        ("+55", {"br", "br_national"}),
        # United Kingdom: national form with its trunk 0, and the number without it.
        ("07911 123456", {"gb"}),
        ("07911", {"gb"}),
        ("7911 123456", {"gb"}),
        ("+44 7911 123456", {"gb"}),
        # United States and Italy (whose national numbers keep their leading 0).
        ("(201) 555-0123", {"us"}),
        ("201-555", {"us"}),
        ("+1 201", {"us"}),
        ("06 1234 5678", {"it"}),
        ("+39 06 1234", {"it"}),
        # A leading + is a country code: a national number after it is not that country's.
        ("+11 98765", set()),
        ("+2199876", set()),
    ],
)
def test_phones_are_found_in_national_and_international_form(
    phones: tuple[str, dict[str, str]], query: str, who: set[str]
) -> None:
    store_id, ids = phones
    everyone = list(search_usecases.iterate_customers(store_id, CustomerFilter(now=NOW)))
    flt = CustomerFilter(q=query, now=NOW)

    found = _found(store_id, query)

    assert len(found) == len(set(found)), "a customer listed twice"
    assert set(found) == {ids[key] for key in who}
    assert set(found) == {c.id for c in everyone if flt.matches(c)}
    assert search_usecases.count_customers(store_id, flt) == len(found)
