"""Writing one part of an export job: a bounded page of the store's customers (all, some ids, a
filter, a segment), their e-mails, their orders, or a report, through the service's own use
cases (never its table directly, so the part follows however customers are keyed).

One request, one part: at most `rows_per_part` rows (orders: the orders of at most
`rows_per_part / ORDERS_PER_CUSTOMER` customers), then the answer names the cursor to continue
from. Cursors hold positions (ids, offsets), never personal data: they travel on the bus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.customers.errors import CustomerError, CustomerNotFound
from chalicelib.customers.extracts import rules, store
from chalicelib.customers.orders import usecases as orders
from chalicelib.customers.orders.models import FrequencyQuery, SalesQuery
from chalicelib.customers.orders.reports.rules import sort_rows
from chalicelib.customers.profiles import usecases as profiles
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.search import usecases as search
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.search.rules import CustomerFilter
from chalicelib.customers.segments import usecases as segments
from chalicelib.customers.segments.rules import SegmentNotFound
from clientela import extracts
from clientela.events import OutgoingEvent
from clientela_events.exports import (
    CUSTOMERS_SOURCE,
    ExportPartWrittenV1,
    ExportRequestedV1,
)

# The kinds of export whose rows this service owns (its rule takes only these).
KINDS = ("customers", "emails", "orders", "report")
# Orders per customer assumed when sizing a part of an orders export.
ORDERS_PER_CUSTOMER = 10


class PartRefused(Exception):
    """The request cannot be served: why (no personal data) and the request field at fault."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    cursor: dict[str, Any] | None
    total: int | None


def _validated(model: type[BaseModel], data: dict[str, Any], prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PartRefused(first["msg"], f"{prefix}.{where}" if where else prefix) from None


def _customer_filter(store_id: str, request: ExportRequestedV1, now: datetime) -> CustomerFilter:
    target = request.target
    if target.kind == "filter":
        query = _validated(CustomerFilterQuery, dict(target.filter or {}), "target.filter")
        return query.to_filter(now)  # type: ignore[no-any-return]
    if target.kind == "segment":
        try:
            segment = segments.get_segment(store_id, target.segment_id or "", now)
        except SegmentNotFound:
            raise PartRefused("No segment with this id", "target.segment_id") from None
        return segment.filter(now)
    return CustomerFilter(now=now)


def _customers(
    store_id: str, request: ExportRequestedV1, position: dict[str, Any] | None, limit: int
) -> tuple[list[Customer], dict[str, Any] | None, int | None]:
    """A page of the target's customers, where the next starts, and (first page) how many."""
    now = datetime.now(UTC)
    if request.target.kind == "ids":
        ids = request.target.ids or []
        offset = int((position or {}).get("offset", 0))
        found = []
        for customer_id in ids[offset : offset + limit]:
            try:
                found.append(profiles.get_customer(store_id, customer_id))
            except CustomerNotFound:
                continue  # deleted since: nothing to export
        more = offset + limit < len(ids)
        return (
            found,
            {"offset": offset + limit} if more else None,
            len(ids) if offset == 0 else None,
        )
    flt = _customer_filter(store_id, request, now)
    try:
        page = search.find_customers(store_id, flt, sort=None, limit=limit, position=position)
        total = search.count_customers(store_id, flt) if position is None else None
    except CustomerError as error:
        raise PartRefused(str(error) or type(error).__name__, "target") from None
    return page.customers, page.position, total


def _orders_of(store_id: str, customer_id: str) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        found, after = orders.list_customer_orders(store_id, customer_id, limit=100, after=after)
        yield from (rules.order_row(order) for order in found)
        if after is None:
            return


def _report(store_id: str, request: ExportRequestedV1, offset: int, limit: int) -> Page:
    report = request.report
    if report is None:
        raise PartRefused("A report export names its report", "report")
    query_data: dict[str, Any] = dict(report.query)
    if report.name == "sales-by-customer":
        query = _validated(SalesQuery, query_data, "report.query")
        period = query.period()
        if period is None:
            raise PartRefused("The period needs `from` and `to`, in order", "report.query.from")
        found = orders.sales_report(store_id, period, query.catalogue(), query.kinds())
    else:
        query = _validated(FrequencyQuery, query_data, "report.query")
        period = query.period()
        if period is None:
            raise PartRefused("The period needs `from` and `to`, in order", "report.query.from")
        found = orders.frequency_report(store_id, period, query.frequency(), query.kinds())
    ordered = sort_rows(found, query.sort)
    end = offset + limit
    return Page(
        [rules.report_row(row) for row in ordered[offset:end]],
        {"offset": end} if end < len(ordered) else None,
        len(ordered) if offset == 0 else None,
    )


def read_page(store_id: str, request: ExportRequestedV1) -> Page:
    """The rows of the part the request asks for. Raises PartRefused."""
    position = json.loads(request.cursor) if request.cursor else None
    limit = request.rows_per_part
    if request.kind == "report":
        return _report(store_id, request, int((position or {}).get("offset", 0)), limit)
    if request.kind == "orders":
        per_page = max(1, limit // ORDERS_PER_CUSTOMER)
        found, following, _ = _customers(store_id, request, position, per_page)
        rows = [row for customer in found for row in _orders_of(store_id, customer.id)]
        return Page(rows, following, None)
    found, following, total = _customers(store_id, request, position, limit)
    if request.kind == "emails":
        emails = [row for row in map(rules.email_row, found) if row is not None]
        return Page(emails, following, None)
    return Page([rules.customer_row(c) for c in found], following, total)


def write_part(store_id: str, request: ExportRequestedV1) -> OutgoingEvent:
    """Writes the part the request asks for and returns the answer to publish: the same key
    for the same part, whatever the redeliveries."""
    if not request.key.startswith(f"exports/{store_id}/") or "/parts/" not in request.key:
        return failure(store_id, request, "The part's key is not the store's", "key")
    try:
        page = read_page(store_id, request)
    except PartRefused as refused:
        return failure(store_id, request, refused.reason, refused.field)
    store.put_part(request.bucket, request.key, rules.jsonl(page.rows))
    data = ExportPartWrittenV1(
        job_id=request.job_id,
        seq=request.seq,
        key=request.key,
        rows=len(page.rows),
        last=page.cursor is None,
        cursor=None if page.cursor is None else json.dumps(page.cursor),
        total=page.total,
    )
    return extracts.answer(store_id, request, "export.part_written", data, source=CUSTOMERS_SOURCE)


def failure(
    store_id: str, request: ExportRequestedV1, reason: str, field: str | None
) -> OutgoingEvent:
    return extracts.failed(store_id, request, reason, field, source=CUSTOMERS_SOURCE)
