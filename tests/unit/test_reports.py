"""Reports with no AWS: grouping by e-mail, catalogue filters, frequency criteria, sorting.

The property tests compare the reports with a brute-force reading of the same random orders:
per e-mail and currency, pick the orders that qualify and add them up, the slow obvious way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.customers.orders.reports.rules import (
    SORT_COLUMNS,
    SORTS,
    CatalogueFilter,
    FrequencyCriteria,
    LineFact,
    OrderFact,
    Period,
    Row,
    purchase_frequency,
    sales_by_customer,
    sort_rows,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
EMAILS = ["ana@example.es", "ANA@example.es", "bruno@example.es", "carla@example.es"]
CUSTOMERS = ["01JD3Z6Q4W0W8Y5J3K2M1N0PQA", "01JD3Z6Q4W0W8Y5J3K2M1N0PQB", None]
PRODUCTS = [("p-1", "SKU-1"), ("p-2", "SKU-2"), ("p-3", "SKU-3")]
BRANDS = ["Montaña", "montaña", "Sol", None]
CATEGORIES = ["Calzado", "Accesorios", None]


def stamp(day: float) -> str:
    moment = T0 + timedelta(days=day)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


money = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def lines(draw: st.DrawFn) -> LineFact:
    product_id, sku = draw(st.sampled_from(PRODUCTS))
    return LineFact(
        product_id,
        sku,
        draw(st.sampled_from(BRANDS)),
        draw(st.sampled_from(CATEGORIES)),
        draw(st.integers(1, 5)),
        draw(money),
    )


@st.composite
def orders(draw: st.DrawFn) -> list[OrderFact]:
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 60), max_size=40, unique=True))
    found = []
    for n, minute in enumerate(minutes):
        total = draw(money)
        found.append(
            OrderFact(
                f"o-{n}",
                draw(st.sampled_from(EMAILS)),
                draw(st.sampled_from(CUSTOMERS)),
                stamp(minute / (60 * 24)),
                draw(st.sampled_from(["EUR", "EUR", "USD"])),
                total,
                draw(st.sampled_from([Decimal(0), total, total / 2])),
                draw(st.booleans()) and draw(st.booleans()),
                tuple(draw(st.lists(lines(), min_size=1, max_size=4))),
            )
        )
    return found


@st.composite
def periods(draw: st.DrawFn) -> Period:
    days = st.integers(-2 * 24 * 60, 62 * 24 * 60).map(lambda minute: minute / (24 * 60))
    start, end = sorted(draw(st.lists(days, min_size=2, max_size=2)))
    return Period(stamp(start), stamp(end))


@st.composite
def catalogues(draw: st.DrawFn) -> CatalogueFilter:
    products = draw(
        st.lists(st.sampled_from(["p-1", "p-2", "SKU-3", "SKU-2", "nothing"]), max_size=2)
    )
    brands = draw(st.lists(st.sampled_from(["MONTAÑA", "sol", "Nadie"]), max_size=2))
    categories = draw(st.lists(st.sampled_from(["calzado", "Accesorios"]), max_size=2))
    return CatalogueFilter.of(products, brands, categories)


def brute_rows(
    facts: list[OrderFact], period: Period, amount_of: Any
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(e-mail, currency) -> (orders, amount, first, last, customer ids, latest customers)."""
    keys = {(f.email.lower(), f.currency) for f in facts}
    result = {}
    for email, currency in keys:
        chosen = [
            (f, amount_of(f))
            for f in facts
            if f.email.lower() == email
            and f.currency == currency
            and not f.cancelled
            and period.start <= f.placed_at <= period.end
        ]
        chosen = [(f, amount) for f, amount in chosen if amount is not None]
        if not chosen:
            continue
        named = [(f, f.customer_id) for f, _ in chosen if f.customer_id]
        latest_customers: set[str | None] = set()
        latest = max((f.placed_at for f, _ in named), default=None)
        result[(email, currency)] = (
            len(chosen),
            sum((amount for _, amount in chosen), Decimal(0)),
            min(f.placed_at for f, _ in chosen),
            max(f.placed_at for f, _ in chosen),
            sorted({cid for _, cid in named}),
            latest_customers | {cid for f, cid in named if f.placed_at == latest} or {None},
        )
    return result


def line_matches(catalogue: CatalogueFilter, line: LineFact) -> bool:
    """The filter's rule, read literally: each dimension given must have the line's value."""
    checks = []
    if catalogue.products:
        checks.append(line.product_id in catalogue.products or line.sku in catalogue.products)
    if catalogue.brands:
        checks.append((line.brand or "").lower() in {b.lower() for b in catalogue.brands})
    if catalogue.categories:
        names = {c.lower() for c in catalogue.categories}
        checks.append((line.category or "").lower() in names)
    return all(checks)


def as_dict(rows: list[Row]) -> dict[tuple[str, str], tuple[Any, ...]]:
    found = {}
    for r in rows:
        assert (r.email, r.currency) not in found
        found[(r.email, r.currency)] = (
            r.orders,
            r.amount,
            r.first_order_at,
            r.last_order_at,
            r.customer_ids,
            r.customer_id,
        )
    return found


def same(rows: list[Row], expected: dict[tuple[str, str], tuple[Any, ...]]) -> None:
    found = as_dict(rows)
    assert found.keys() == expected.keys()
    for key, (*values, latest) in found.items():
        *wanted, latest_candidates = expected[key]
        assert values == wanted, key
        assert latest in latest_candidates, key


@settings(max_examples=300)
@given(orders(), periods(), catalogues())
def test_sales_by_customer_equals_brute_force(
    facts: list[OrderFact], period: Period, catalogue: CatalogueFilter
) -> None:
    def matching_amount(f: OrderFact) -> Decimal | None:
        matching = [ln for ln in f.lines if line_matches(catalogue, ln)]
        if not matching:
            return None
        return sum((ln.quantity * ln.unit_price for ln in matching), Decimal(0))

    rows = sales_by_customer(facts, period, catalogue)

    same(rows, brute_rows(facts, period, matching_amount))
    assert sum(r.orders for r in rows) == sum(
        1
        for f in facts
        if not f.cancelled and f.placed_at in period and matching_amount(f) is not None
    )


@settings(max_examples=300)
@given(
    orders(),
    periods(),
    st.one_of(st.none(), st.integers(1, 4)),
    st.one_of(st.none(), money),
    st.one_of(st.none(), st.integers(0, 60).map(stamp)),
)
def test_purchase_frequency_equals_brute_force(
    facts: list[OrderFact],
    period: Period,
    orders_min: int | None,
    spent_min: Decimal | None,
    no_order_since: str | None,
) -> None:
    criteria = FrequencyCriteria(orders_min, spent_min, no_order_since)
    expected = {
        key: row
        for key, row in brute_rows(facts, period, lambda f: f.total - f.refunded_total).items()
        if (orders_min is None or row[0] >= orders_min)
        and (spent_min is None or row[1] >= spent_min)
        and (no_order_since is None or row[3] < no_order_since)
    }

    same(purchase_frequency(facts, period, criteria), expected)


@given(orders(), st.sampled_from(SORTS))
def test_every_sort_orders_the_rows_by_its_column(facts: list[OrderFact], sort: str) -> None:
    rows = purchase_frequency(facts, Period(stamp(0), stamp(61)), FrequencyCriteria())

    ordered = sort_rows(rows, sort)

    column = sort.removeprefix("-")
    values = [getattr(r, column) for r in ordered]
    assert values == sorted(values, reverse=sort.startswith("-"))
    assert sorted(map(id, ordered)) == sorted(map(id, rows))


def test_one_email_in_any_case_is_one_row_across_customers_and_guests() -> None:
    facts = [
        OrderFact("1", "Ana@Example.es", "C1", stamp(1), "EUR", Decimal(10), Decimal(0), False),
        OrderFact("2", "ana@example.es", None, stamp(3), "EUR", Decimal(5), Decimal(1), False),
        OrderFact("3", "ana@example.es", "C2", stamp(2), "EUR", Decimal(7), Decimal(0), False),
        OrderFact("4", "ana@example.es", "C3", stamp(4), "EUR", Decimal(99), Decimal(0), True),
    ]

    (row,) = purchase_frequency(facts, Period(stamp(0), stamp(9)), FrequencyCriteria())

    assert (row.email, row.orders, row.amount) == ("ana@example.es", 3, Decimal(21))
    assert (row.first_order_at, row.last_order_at) == (stamp(1), stamp(3))
    assert row.customer_ids == ["C1", "C2"]
    assert row.customer_id == "C2"  # of the latest order naming a customer


def test_the_catalogue_filter_rule() -> None:
    shoes = LineFact("p-1", "ZAP-1", "Montaña", "Calzado", 1, Decimal(1))
    hat = LineFact("p-3", "SOM-3", None, "Accesorios", 1, Decimal(1))

    assert CatalogueFilter().matches(shoes)
    assert CatalogueFilter.of(["ZAP-1"], [], []).matches(shoes)
    assert CatalogueFilter.of(["p-9", "p-1"], ["MONTAÑA"], []).matches(shoes)
    assert not CatalogueFilter.of(["p-1"], ["Sol"], []).matches(shoes)
    assert not CatalogueFilter.of([], ["Montaña"], []).matches(hat)
    assert CatalogueFilter.of([], [], ["accesorios", "Calzado"]).matches(hat)


def test_sorts_are_the_documented_columns() -> None:
    assert set(SORT_COLUMNS) == {"orders", "amount", "first_order_at", "last_order_at", "email"}
    with pytest.raises(ValueError, match="sort"):
        sort_rows([], "name")
