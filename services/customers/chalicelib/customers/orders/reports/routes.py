"""Routes of /reports: customers grouped by e-mail over a period. Each parses, runs, answers.

Pagination: the cursor holds the offset of the next row, signed and bound to the store and to
the query (its period, filters and sort), so it cannot be replayed against another query. Each
page runs the report again: orders recorded meanwhile may shift rows between pages.
"""

from __future__ import annotations

from chalicelib.customers.http import cursor_position, listing_scope, next_cursor
from chalicelib.customers.orders import usecases as order_usecases
from chalicelib.customers.orders.models import (
    FrequencyQuery,
    ReportPage,
    ReportQuery,
    ReportRow,
    SalesQuery,
)
from chalicelib.customers.orders.reports.rules import Period, Row, sort_rows
from clientela import problems
from clientela.api import Call, Reply, Service
from clientela.problems import FieldError

SALES_SCOPE = "customers:reports:sales:v1"
FREQUENCY_SCOPE = "customers:reports:frequency:v1"
PERIOD_REQUIRED = "The period is mandatory: give `from` and `to` (YYYY-MM-DD)"
SALES_DOC = """\
Per e-mail: orders with a line item matching the filters, what the matching lines cost
(quantity x unit price), and the first and last such order in the period. `product` (id or
SKU), `brand` and `category` repeat; a line matches when it has one of the values given for
every dimension given (brands and categories compare without case).
"""
FREQUENCY_DOC = """\
Per e-mail: orders in the period, what they came to less refunds, and the first and last
order. `orders_min` and `spent_min` keep e-mails with at least that many orders / that
amount; `no_order_since` keeps those whose last order in the period is before that day.
"""
COST = """
The period is mandatory and may be as long as needed; the report reads every order placed in
it (one query of the index `orders_by_date` per MB of orders), so its cost grows with the
period. Groups by the order's e-mail (lower-cased), across customer profiles and guest
orders, one row per e-mail and currency. Cancelled orders are left out. `limit` rows per page;
`next_cursor` continues (it holds the offset of the next row).
"""


def period_of(query: ReportQuery) -> Period:
    """The query's period; 422 naming `from` / `to` when one is missing or they are reversed."""
    errors = [
        FieldError(name, PERIOD_REQUIRED, "period_required")
        for name, value in (("from", query.start), ("to", query.end))
        if value is None
    ]
    period = query.period()
    if not errors and period is None:
        errors.append(FieldError("to", "must not be before `from`", "period_reversed"))
    if errors or period is None:
        raise problems.invalid(errors, "The report needs a period")
    return period


def page_of(call: Call, scope_name: str, query: ReportQuery, rows: list[Row]) -> Reply:
    scope = listing_scope(scope_name, query.criteria())
    position = cursor_position(call.store_id, query.cursor, scope)
    offset = 0 if position is None else position.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise problems.invalid([FieldError("cursor", "Invalid cursor")], "Invalid cursor")
    ordered = sort_rows(rows, query.sort)
    end = offset + query.limit
    following = {"offset": end} if end < len(ordered) else None
    page = ReportPage(
        items=[ReportRow.of(row) for row in ordered[offset:end]],
        total_rows=len(ordered),
        next_cursor=next_cursor(call.store_id, following, scope),
    )
    return Reply(200, page)


def register(service: Service) -> None:
    @service.route(
        "/reports/sales-by-customer",
        "GET",
        summary="Customers by catalogue sales",
        description=SALES_DOC + COST,
        query=SalesQuery,
        response=ReportPage,
        errors=(422,),
    )
    def sales_by_customer(call: Call) -> Reply:
        query: SalesQuery = call.query
        period = period_of(query)
        rows = order_usecases.sales_report(call.store_id, period, query.catalogue(), query.kinds())
        return page_of(call, SALES_SCOPE, query, rows)

    @service.route(
        "/reports/purchase-frequency",
        "GET",
        summary="Customers by purchase frequency",
        description=FREQUENCY_DOC + COST,
        query=FrequencyQuery,
        response=ReportPage,
        errors=(422,),
    )
    def purchase_frequency(call: Call) -> Reply:
        query: FrequencyQuery = call.query
        period = period_of(query)
        rows = order_usecases.frequency_report(
            call.store_id, period, query.frequency(), query.kinds()
        )
        return page_of(call, FREQUENCY_SCOPE, query, rows)
