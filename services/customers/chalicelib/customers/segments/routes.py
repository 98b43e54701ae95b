"""Routes of /segments: built-in and saved segments, their counts and their customers.

Design: every segment is one resource at /segments/{id}. Built-in segments (ids `new`,
`active_buyers`, `top_spenders`, `at_risk`, `never_purchased`, `email_subscribers`) exist in
every store; their thresholds are their `parameters`, changed with PATCH /segments/{id}
(`{"parameters": {"days": 14}}`). Saved segments are created with POST /segments and renamed,
refiltered or deleted at their id. There is no separate thresholds resource.
"""

from __future__ import annotations

from chalicelib.customers.errors import CustomerError
from chalicelib.customers.http import (
    cursor_position,
    etag,
    listing_scope,
    next_cursor,
    precondition,
    problem_for,
)
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import Customer
from chalicelib.customers.search.models import CustomerPage
from chalicelib.customers.segments import usecases
from chalicelib.customers.segments.models import (
    INVALID_FILTER_DETAIL,
    MembersQuery,
    Segment,
    SegmentCreate,
    SegmentGetQuery,
    SegmentList,
    SegmentListQuery,
    SegmentPatch,
)
from chalicelib.customers.segments.rules import (
    BuiltInSegment,
    InvalidParameter,
    SegmentChanged,
    SegmentError,
    SegmentFilterInvalid,
    SegmentNameTaken,
    SegmentNotFound,
    TooManySegments,
)
from chalicelib.customers.segments.rules import Segment as SegmentRecord
from clientela import problems
from clientela.api import Call, Reply, Service
from clientela.problems import FieldError, Problem

MEMBERS_SCOPE = "customers:segment-members:v1"
ERRORS = (SegmentError, CustomerError)


@problem_for.register
def _(_error: SegmentNotFound) -> Problem:
    return problems.not_found("segment")


@problem_for.register
def _(error: SegmentNameTaken) -> Problem:
    return Problem(
        409,
        "segment-name-taken",
        "Segment name already used",
        "Another segment of this store has this name (case ignored)",
        [FieldError("name", "Already used by another segment")],
        extra={"existing_segment_id": error.existing_id},
    )


@problem_for.register
def _(error: BuiltInSegment) -> Problem:
    return Problem(
        409,
        "built-in-segment",
        "Built-in segment",
        "Built-in segments cannot be deleted, renamed or refiltered; PATCH their parameters",
        [FieldError(error.field, error.reason)],
    )


@problem_for.register
def _(_error: TooManySegments) -> Problem:
    return Problem(
        409,
        "too-many-segments",
        "Too many segments",
        "This store has as many saved segments as it may have; delete one first",
    )


@problem_for.register
def _(error: SegmentChanged) -> Problem:
    return Problem(
        412,
        "precondition-failed",
        "The segment has changed",
        "Read it again and apply your change to the current version",
        extra={"current_version": error.current_version},
        headers={"ETag": etag(error.current_version)},
    )


@problem_for.register
def _(error: SegmentFilterInvalid) -> Problem:
    return Problem(
        409,
        "segment-filter-invalid",
        "The segment's filter cannot run",
        INVALID_FILTER_DETAIL,
        list(error.errors),
    )


@problem_for.register
def _(error: InvalidParameter) -> Problem:
    return problems.invalid([FieldError(error.field, error.reason)])


def _reply(segment: SegmentRecord, count: int | None, status: int = 200) -> Reply:
    return Reply(status, Segment.of(segment, count), {"ETag": etag(segment.version)})


def register(service: Service) -> None:
    _register_writes(service)
    _register_reads(service)


def _register_writes(service: Service) -> None:
    @service.route(
        "/segments",
        "POST",
        summary="Save a segment",
        body=SegmentCreate,
        response=Segment,
        status=201,
        errors=(409, 422),
        response_headers=("ETag", "Location"),
        creates="segment_id",
    )
    def create_segment(call: Call) -> Reply:
        """A name (1-100 characters, unique in the store, case ignored, built-ins' names
        included) and the filters of GET /customers with absolute dates. 409 for a name in use.
        A store has at most 100 saved segments."""
        body: SegmentCreate = call.body
        try:
            segment = usecases.create_segment(call.store_id, body.name, body.filter.query())
        except ERRORS as error:
            raise problem_for(error) from None
        reply = _reply(segment, None, 201)
        reply.headers["Location"] = f"/segments/{segment.id}"
        return reply

    @service.route(
        "/segments/{segment_id}",
        "PATCH",
        summary="Rename or refilter a saved segment; change a built-in segment's parameters",
        body=SegmentPatch,
        response=Segment,
        errors=(404, 409, 412, 422),
        headers=("If-Match",),
        response_headers=("ETag",),
    )
    def update_segment(call: Call, segment_id: str) -> Reply:
        """Saved segments: `name` and/or `filter` (a new filter replaces the old one); a
        segment whose filter can no longer run needs a new filter (409 otherwise).
        Built-in segments: only `parameters` (409 for a name or filter), each checked against
        its bounds (422). `If-Match` with a stale version: 412. The answer has no count."""
        patch: SegmentPatch = call.body
        try:
            segment = usecases.update_segment(
                call.store_id,
                segment_id,
                precondition(call.header("If-Match")),
                name=patch.name,
                query=patch.filter.query() if patch.filter else None,
                parameters=patch.parameters.given() if patch.parameters else None,
            )
        except ERRORS as error:
            raise problem_for(error) from None
        return _reply(segment, None)

    @service.route(
        "/segments/{segment_id}",
        "DELETE",
        summary="Delete a saved segment",
        status=204,
        errors=(404, 409, 412),
        headers=("If-Match",),
    )
    def delete_segment(call: Call, segment_id: str) -> Reply:
        """Built-in segments cannot be deleted (409). Customers are not touched."""
        try:
            usecases.delete_segment(
                call.store_id, segment_id, precondition(call.header("If-Match"))
            )
        except ERRORS as error:
            raise problem_for(error) from None
        return Reply(204)


def _register_reads(service: Service) -> None:
    @service.route(
        "/segments",
        "GET",
        summary="List the store's segments with their counts",
        query=SegmentListQuery,
        response=SegmentList,
    )
    def list_segments(call: Call) -> Reply:
        """Built-in segments first, then saved ones by name (one Query reads them all).

        Each `count` is live: counting a segment reads what listing its customers would read
        (only the index when an index serves the whole filter, else every candidate), so this
        costs about as much as counting each segment with GET /customers/count. `count=false`
        skips it. One segment never fails the list: one that cannot be counted has `count`
        null and says why in `problem` (`invalid-filter`: saved with a filter that can no
        longer run; `count-failed`).
        """
        query: SegmentListQuery = call.query
        now = domain.now()
        segments = usecases.list_segments(call.store_id, now)
        counts = usecases.count_all(call.store_id, segments, now) if query.count else []
        items = [
            Segment.of(s, counts[i] if query.count else None, counted=query.count)
            for i, s in enumerate(segments)
        ]
        return Reply(200, SegmentList(items=items))

    @service.route(
        "/segments/{segment_id}",
        "GET",
        summary="Get a segment with its count",
        query=SegmentGetQuery,
        response=Segment,
        errors=(404, 409),
        response_headers=("ETag",),
    )
    def get_segment(call: Call, segment_id: str) -> Reply:
        """`count` reads the segment's customers (see GET /segments); `count=false` skips it.
        A segment saved with a filter that can no longer run cannot be counted: 409
        `segment-filter-invalid` naming the fields (with `count=false` it is shown, with its
        `problem`); PATCH it with a new filter, or delete it."""
        query: SegmentGetQuery = call.query
        now = domain.now()
        try:
            segment = usecases.get_segment(call.store_id, segment_id, now)
            count = usecases.count_members(call.store_id, segment, now) if query.count else None
        except ERRORS as error:
            raise problem_for(error) from None
        return _reply(segment, count)

    @service.route(
        "/segments/{segment_id}/customers",
        "GET",
        summary="List a segment's customers",
        query=MembersQuery,
        response=CustomerPage,
        errors=(404, 409, 422),
    )
    def list_segment_customers(call: Call, segment_id: str) -> Reply:
        """Paginated like GET /customers (`limit`, `cursor`, `sort`). A cursor belongs to the
        segment at the version it was given for: after the segment changes, start again. 409
        for a segment whose filter can no longer run (see GET /segments/{id})."""
        query: MembersQuery = call.query
        try:
            segment = usecases.get_segment(call.store_id, segment_id, domain.now())
        except ERRORS as error:
            raise problem_for(error) from None
        scope = listing_scope(
            MEMBERS_SCOPE, {"segment": segment.id, "version": segment.version, "sort": query.sort}
        )
        position = cursor_position(call.store_id, query.cursor, scope)
        try:
            page = usecases.find_members(
                call.store_id, segment, sort=query.sort, limit=query.limit, position=position
            )
        except ERRORS as error:
            raise problem_for(error) from None
        return Reply(
            200,
            CustomerPage(
                items=[Customer.of(c) for c in page.customers],
                next_cursor=next_cursor(call.store_id, page.position, scope),
                sort=page.sort,
            ),
        )
