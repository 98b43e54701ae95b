"""Finding and counting a store's customers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.usecases import customer_store
from chalicelib.customers.search import plans as search
from chalicelib.customers.search.rules import CustomerFilter


def find_customers(
    store_id: str,
    flt: CustomerFilter,
    *,
    sort: str | None,
    limit: int,
    position: dict[str, Any] | None,
) -> search.SearchPage:
    """A page of the customers matching the filter, in the order asked for."""
    return search.find(customer_store(), store_id, flt, sort=sort, limit=limit, position=position)


def count_customers(store_id: str, flt: CustomerFilter) -> int:
    return search.count(customer_store(), store_id, flt)


def count_customers_with_source(store_id: str, flt: CustomerFilter) -> tuple[int, str]:
    """The count and how it was had: `counters` (kept by every write, one read per shard) or
    `query` (read as the listing reads)."""
    return search.count_with_source(customer_store(), store_id, flt)


def iterate_customers(store_id: str, flt: CustomerFilter) -> Iterator[Customer]:
    return search.iterate(customer_store(), store_id, flt)
