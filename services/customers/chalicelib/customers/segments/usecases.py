"""What the service does with segments: list, define, change, count and read their members."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.customers import errors
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import SegmentRef
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.usecases import Precondition
from chalicelib.customers.search import usecases as search_usecases
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.search.plans import SearchPage
from chalicelib.customers.segments.rules import (
    BUILT_IN_IDS,
    BuiltInSegment,
    InvalidParameter,
    Segment,
    SegmentChanged,
    SegmentFilterInvalid,
    SegmentNameTaken,
    SegmentNotFound,
    built_in_named,
    built_in_segment,
    built_in_segments,
    clean_name,
    membership_changes,
    memberships,
    with_parameters,
)
from chalicelib.customers.segments.store import Catalog, SegmentStore, StaleSegment
from chalicelib.customers.settings import settings
from clientela import aws
from clientela.events import OutgoingEvent
from clientela.ids import is_id, new_id
from clientela_events import segments as segment_events

logger = Logger(service="customers")

_RETRIES = 3
_COUNT_WORKERS = 8


def segment_store() -> SegmentStore:
    return SegmentStore(aws.dynamodb(), settings().table)


def _all(catalog: Catalog, now: datetime) -> list[Segment]:
    """Built-ins in their fixed order, then saved segments by name."""
    saved = sorted(catalog.saved.values(), key=lambda s: (s.name.casefold(), s.id))
    return [*built_in_segments(catalog.thresholds, now, catalog.thresholds_version), *saved]


def list_segments(store_id: str, now: datetime) -> list[Segment]:
    return _all(segment_store().catalog(store_id), now)


def get_segment(store_id: str, segment_id: str, now: datetime) -> Segment:
    """A built-in segment as of `now`, or a saved one (one GetItem either way)."""
    store = segment_store()
    built_in = BUILT_IN_IDS.get(segment_id)
    if built_in is not None:
        thresholds, version = store.thresholds(store_id)
        return built_in_segment(built_in, thresholds, now, version)
    segment = store.get(store_id, segment_id) if is_id(segment_id) else None
    if segment is None:
        raise SegmentNotFound
    return segment


def count_members(store_id: str, segment: Segment, now: datetime) -> int:
    """How many customers are in the segment now. Reads what listing them all would read."""
    return search_usecases.count_customers(store_id, segment.filter(now))


def count_all(store_id: str, segments: list[Segment], now: datetime) -> list[int | None]:
    """Each segment's live count, several at a time; None for one that cannot be counted (its
    filter cannot run, or counting it failed): one segment never fails the whole list."""

    def count(segment: Segment) -> int | None:
        if segment.invalid:
            return None
        try:
            return count_members(store_id, segment, now)
        except Exception as error:
            # The type only: a message may quote a filter's values (personal data).
            logger.error(
                "segment count failed",
                extra={"segment_id": segment.id, "error_type": type(error).__name__},
            )
            return None

    if not segments:
        return []
    with ThreadPoolExecutor(max_workers=min(_COUNT_WORKERS, len(segments))) as pool:
        return list(pool.map(count, segments))


def create_segment(store_id: str, name: str, query: CustomerFilterQuery) -> Segment:
    """Raises SegmentNameTaken, TooManySegments."""
    name = clean_name(name)
    _check_name_free(name)
    at = domain.now()
    segment = Segment(id=new_id(), name=name, query=query, created_at=at, updated_at=at)
    segment_store().add(store_id, segment)
    return segment


def _check_name_free(name: str) -> None:
    built_in = built_in_named(name)
    if built_in is not None:
        raise SegmentNameTaken(built_in)


def update_segment(
    store_id: str,
    segment_id: str,
    precondition: Precondition,
    *,
    name: str | None = None,
    query: CustomerFilterQuery | None = None,
    parameters: dict[str, Any] | None = None,
) -> Segment:
    """Renames or refilters a saved segment; changes a built-in segment's parameters.

    Without If-Match a concurrent change is read again and the change applied on top of it.
    """
    if segment_id in BUILT_IN_IDS:
        return _change_parameters(
            store_id,
            segment_id=segment_id,
            precondition=precondition,
            name=name,
            query=query,
            parameters=parameters,
        )
    if parameters is not None:
        raise InvalidParameter("parameters", "only built-in segments have parameters")
    store = segment_store()
    if name is not None:
        name = clean_name(name)
        _check_name_free(name)
    for _attempt in range(_RETRIES):
        current = store.get(store_id, segment_id) if is_id(segment_id) else None
        if current is None:
            raise SegmentNotFound
        if not precondition.allows(current.version):
            raise SegmentChanged(current.version)
        if current.invalid and query is None:
            raise SegmentFilterInvalid(current.invalid)  # keeping it would keep what cannot run
        new = replace(
            current,
            name=current.name if name is None else name,
            query=current.query if query is None else query,
            invalid=current.invalid if query is None else (),
        )
        if new == current:
            return current
        new = replace(new, updated_at=domain.now(), version=current.version + 1)
        try:
            store.replace(store_id, current, new)
        except StaleSegment:
            if precondition.versions is not None:
                latest = store.get(store_id, segment_id)
                if latest is None:
                    raise SegmentNotFound from None
                raise SegmentChanged(latest.version) from None
            continue
        return new
    raise errors.WriteConflict


def _change_parameters(
    store_id: str,
    *,
    segment_id: str,
    precondition: Precondition,
    name: str | None,
    query: CustomerFilterQuery | None,
    parameters: dict[str, Any] | None,
) -> Segment:
    if name is not None:
        raise BuiltInSegment("name", "a built-in segment's name is fixed")
    if query is not None:
        raise BuiltInSegment("filter", "a built-in segment's filter is fixed: change parameters")
    store = segment_store()
    built_in = BUILT_IN_IDS[segment_id]
    for _attempt in range(_RETRIES):
        current, version = store.thresholds(store_id)
        if not precondition.allows(version):
            raise SegmentChanged(version)
        thresholds = with_parameters(current, segment_id, parameters or {})
        if thresholds == current:
            return built_in_segment(built_in, current, domain.now(), version)
        try:
            store.save_thresholds(store_id, thresholds, version)
        except StaleSegment:
            if precondition.versions is not None:
                raise SegmentChanged(store.thresholds(store_id)[1]) from None
            continue
        return built_in_segment(built_in, thresholds, domain.now(), version + 1)
    raise errors.WriteConflict


def delete_segment(store_id: str, segment_id: str, precondition: Precondition) -> None:
    """Deletes a saved segment. Raises BuiltInSegment for a built-in one."""
    if segment_id in BUILT_IN_IDS:
        raise BuiltInSegment("id", "built-in segments cannot be deleted")
    store = segment_store()
    for _attempt in range(_RETRIES):
        current = store.get(store_id, segment_id) if is_id(segment_id) else None
        if current is None:
            raise SegmentNotFound
        if not precondition.allows(current.version):
            raise SegmentChanged(current.version)
        try:
            store.remove(store_id, current)
        except StaleSegment:
            continue
        return
    raise errors.WriteConflict


def find_members(
    store_id: str,
    segment: Segment,
    *,
    sort: str | None,
    limit: int,
    position: dict[str, Any] | None,
) -> SearchPage:
    """A page of the segment's customers (like GET /customers with the segment's filter)."""
    flt = segment.filter(domain.now())
    return search_usecases.find_customers(store_id, flt, sort=sort, limit=limit, position=position)


def segments_of(store_id: str, customer: Customer) -> list[SegmentRef]:
    """The segments (built-in, then saved) the customer belongs to now: one Query."""
    now = domain.now()
    return memberships(customer, _all(segment_store().catalog(store_id), now), now)


# The stream publisher judges every customer change against the store's segments: it reads
# them once a minute per store rather than once per record (a segment created or edited starts
# counting within that minute).
CATALOG_SECONDS = 60.0
_catalogs: dict[str, tuple[float, Catalog]] = {}


def cached_catalog(store_id: str) -> Catalog:
    held = _catalogs.get(store_id)
    clock = time.monotonic()
    if held is None or clock - held[0] > CATALOG_SECONDS:
        held = (clock, segment_store().catalog(store_id))
        _catalogs[store_id] = held
    return held[1]


def membership_events(
    store_id: str, change: str, old: Customer | None, new: Customer | None, at: datetime
) -> list[OutgoingEvent]:
    """`segment.entered` / `segment.exited` for one change of a customer (a stream record,
    named by `change`), against the store's saved segments as of `at`. Built-in segments do
    not trigger: their membership moves mostly with time ("in the last N days"), which no
    change records; a store that wants one saves the same filter."""
    customer = new or old
    if customer is None:
        return []
    events = []
    saved = list(cached_catalog(store_id).saved.values())
    if not saved:
        return []
    for segment_id, direction in membership_changes(old, new, saved, at):
        model = (
            segment_events.SegmentEnteredV1
            if direction == "entered"
            else segment_events.SegmentExitedV1
        )
        events.append(
            OutgoingEvent(
                event_type=f"segment.{direction}",
                version=1,
                event_id=segment_events.membership_event_id(
                    segment_id, customer.id, change, direction
                ),
                store_id=store_id,
                occurred_at=at,
                data=model(segment_id=segment_id, customer_id=customer.id, at=at),
            )
        )
    return events
