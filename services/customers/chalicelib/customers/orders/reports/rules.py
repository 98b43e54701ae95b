"""Customer reports, with no AWS: a store's orders of a period grouped by e-mail address.

Both reports group by the order's e-mail (lower-cased), so one row gathers a registered
customer's orders and the guest orders placed with the same address, across customer ids.
Amounts of different currencies never add up: a row is one e-mail in one currency (a store
selling in one currency has one row per e-mail). Cancelled orders are left out.

- Sales by customer: only orders with a line item matching the catalogue filter count; the
  amount is what the matching lines cost (quantity x unit price).
- Purchase frequency: every order counts; the amount is what was paid minus what was refunded.

Rows sort by any column, ascending or (`-` prefix) descending; ties go by e-mail, then
currency, in the same direction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SORT_COLUMNS = ("orders", "amount", "first_order_at", "last_order_at", "email")
SORTS = (*SORT_COLUMNS, *(f"-{column}" for column in SORT_COLUMNS))
ZERO = Decimal(0)


@dataclass(slots=True)  # not frozen: building 100 000 of them is 4x faster
class LineFact:
    product_id: str
    sku: str
    brand: str | None
    category: str | None
    quantity: int
    unit_price: Decimal


@dataclass(slots=True)  # not frozen: building 100 000 of them is 4x faster
class OrderFact:
    """What a report needs of one order. Times are stamps (ISO UTC, sortable as text)."""

    order_id: str
    email: str
    customer_id: str | None
    placed_at: str
    currency: str
    total: Decimal
    refunded_total: Decimal
    cancelled: bool
    lines: tuple[LineFact, ...] = ()
    kind: str = "product"


def of_kinds(facts: Iterable[OrderFact], kinds: frozenset[str] | None) -> Iterable[OrderFact]:
    """Only the orders of those kinds (None: every kind)."""
    return facts if kinds is None else (fact for fact in facts if fact.kind in kinds)


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both stamps, both included."""

    start: str
    end: str

    def __contains__(self, stamp: str) -> bool:
        return self.start <= stamp <= self.end


@dataclass(frozen=True)
class CatalogueFilter:
    """Which line items count. Values of one dimension are alternatives; dimensions all apply.

    A product matches a line's product id or its SKU; brands and categories compare without
    case. An empty dimension does not filter.
    """

    products: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, products: Iterable[str], brands: Iterable[str], categories: Iterable[str]
    ) -> CatalogueFilter:
        return cls(
            frozenset(products),
            frozenset(b.casefold() for b in brands),
            frozenset(c.casefold() for c in categories),
        )

    def matches(self, line: LineFact) -> bool:
        if self.products and not (line.product_id in self.products or line.sku in self.products):
            return False
        if self.brands and (line.brand is None or line.brand.casefold() not in self.brands):
            return False
        return not self.categories or (
            line.category is not None and line.category.casefold() in self.categories
        )


@dataclass(frozen=True)
class FrequencyCriteria:
    """Purchase-frequency filters; None does not filter. `no_order_since` is a stamp."""

    orders_min: int | None = None
    spent_min: Decimal | None = None
    no_order_since: str | None = None

    def keeps(self, row: Row) -> bool:
        return (
            (self.orders_min is None or row.orders >= self.orders_min)
            and (self.spent_min is None or row.amount >= self.spent_min)
            and (self.no_order_since is None or row.last_order_at < self.no_order_since)
        )


@dataclass
class Row:
    email: str
    currency: str
    orders: int
    amount: Decimal
    first_order_at: str
    last_order_at: str
    customer_id: str | None  # the customer of the row's latest order that names one
    customer_ids: list[str]


class _Group:
    """A row being added up."""

    __slots__ = ("amount", "customer_ids", "first", "last", "latest", "orders")

    def __init__(self, placed_at: str) -> None:
        self.orders = 0
        self.amount = ZERO
        self.first = placed_at
        self.last = placed_at
        self.latest: tuple[str, str] | None = None  # (placed_at, customer id)
        self.customer_ids: set[str] = set()

    def add(self, order: OrderFact, amount: Decimal) -> None:
        self.orders += 1
        self.amount += amount
        self.first = min(self.first, order.placed_at)
        self.last = max(self.last, order.placed_at)
        if order.customer_id:
            self.customer_ids.add(order.customer_id)
            known = (order.placed_at, order.customer_id)
            if self.latest is None or known > self.latest:
                self.latest = known


def _rows(
    orders: Iterable[OrderFact], period: Period, amount_of: Callable[[OrderFact], Decimal | None]
) -> list[Row]:
    """Groups by (e-mail, currency) the orders of the period that `amount_of` counts (not None)."""
    groups: dict[tuple[str, str], _Group] = {}
    for order in orders:
        if order.cancelled or order.placed_at not in period:
            continue
        amount = amount_of(order)
        if amount is None:
            continue
        key = (order.email.lower(), order.currency)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(order.placed_at)
        group.add(order, amount)
    return [
        Row(
            email,
            currency,
            g.orders,
            g.amount,
            g.first,
            g.last,
            g.latest[1] if g.latest else None,
            sorted(g.customer_ids),
        )
        for (email, currency), g in groups.items()
    ]


def sales_by_customer(
    orders: Iterable[OrderFact], period: Period, catalogue: CatalogueFilter
) -> list[Row]:
    """Per e-mail: orders with matching lines, what those lines cost, first and last date."""

    def matching(order: OrderFact) -> Decimal | None:
        amounts = [
            line.unit_price * line.quantity for line in order.lines if catalogue.matches(line)
        ]
        return sum(amounts, ZERO) if amounts else None

    return _rows(orders, period, matching)


def purchase_frequency(
    orders: Iterable[OrderFact], period: Period, criteria: FrequencyCriteria
) -> list[Row]:
    """Per e-mail: orders, amount paid less refunds, first and last date; then the criteria."""
    rows = _rows(orders, period, lambda order: order.total - order.refunded_total)
    return [row for row in rows if criteria.keeps(row)]


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    """Sorted by `sort` (a column of SORT_COLUMNS, `-` first for descending)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    column = sort.removeprefix("-")
    descending = sort.startswith("-")

    def key(row: Row) -> tuple[Any, ...]:
        return (getattr(row, column), row.email, row.currency)

    return sorted(rows, key=key, reverse=descending)
