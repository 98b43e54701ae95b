"""Routes of the customer search: GET /customers and /customers/count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.customers.errors import CustomerError
from chalicelib.customers.http import (
    LIST_SCOPE,
    cursor_position,
    listing_scope,
    next_cursor,
    problem_for,
)
from chalicelib.customers.profiles.models import (
    Customer,
)
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.models import (
    CustomerCount,
    CustomerFilterQuery,
    CustomerPage,
    ListQuery,
)
from clientela.api import Call, Reply, Routes


def _filter_of(query: CustomerFilterQuery) -> Any:
    return query.to_filter(datetime.now(UTC))


def _filter_params(query: CustomerFilterQuery) -> dict[str, Any]:
    """The filter part of a query (what a cursor is bound to)."""
    return query.model_dump(
        mode="json", exclude={"limit", "cursor"}, exclude_none=True, exclude_defaults=True
    )


routes = Routes()
register = routes.register


@routes.route(
    "/customers",
    "GET",
    summary="Search, filter and sort customers",
    query=ListQuery,
    response=CustomerPage,
    errors=(422,),
)
def list_customers(call: Call) -> Reply:
    """Newest first by default. Filters combine with AND; `tag` repeats (`tag_mode`).

    The README's "Search and filters" says which filters and sorts an index serves.
    """
    query: ListQuery = call.query
    scope = listing_scope(LIST_SCOPE, _filter_params(query))
    position = cursor_position(call.store_id, query.cursor, scope)
    try:
        page = search_usecases.find_customers(
            call.store_id,
            _filter_of(query),
            sort=query.sort,
            limit=query.limit,
            position=position,
        )
    except CustomerError as error:
        raise problem_for(error) from None
    return Reply(
        200,
        CustomerPage(
            items=[Customer.of(c) for c in page.customers],
            next_cursor=next_cursor(call.store_id, page.position, scope),
            sort=page.sort,
        ),
    )


@routes.route(
    "/customers/count",
    "GET",
    summary="Count the customers matching filters",
    query=CustomerFilterQuery,
    response=CustomerCount,
    errors=(422,),
)
def count_customers(call: Call) -> Reply:
    """Takes the filters of GET /customers. The whole store, one tag or one counted equality
    is read from counters; anything else reads what a full listing would read."""
    try:
        total, source = search_usecases.count_customers_with_source(
            call.store_id, _filter_of(call.query)
        )
    except CustomerError as error:
        raise problem_for(error) from None
    counted_by = "counters" if source == "counters" else "query"
    return Reply(200, CustomerCount(count=total, counted_by=counted_by))
