"""Routes of merging duplicates: POST /customers/merge."""

from __future__ import annotations

from chalicelib.customers.errors import CustomerError
from chalicelib.customers.http import (
    problem_for,
)
from chalicelib.customers.merge import usecases as merging
from chalicelib.customers.merge.models import MergeRequest, MergeResult
from chalicelib.customers.profiles.models import (
    Customer,
)
from clientela.api import Call, Reply, Routes

routes = Routes()
register = routes.register


@routes.route(
    "/customers/merge",
    "POST",
    summary="Merge duplicate customers (with a preview)",
    body=MergeRequest,
    response=MergeResult,
    errors=(409, 412),
)
def merge_customers(call: Call) -> Reply:
    """Orders, timeline, tags, attributes and ratings move to the kept profile; fields it lacks
    are filled from the others; consent keeps the most restrictive record per channel. The
    others are deleted and a `customer.merged` event lets the other services follow.
    With `dry_run`, nothing changes and the answer shows what would.
    """
    request: MergeRequest = call.body
    try:
        result = merging.merge_customers(
            call.store_id,
            request.keep_id,
            request.merge_ids,
            dry_run=request.dry_run,
            correlation_id=call.request_id,
        )
    except CustomerError as error:
        raise problem_for(error) from None
    outcome = result.outcome
    return Reply(
        200,
        MergeResult(
            dry_run=request.dry_run,
            merge_id=result.merge_id,
            customer=Customer.of(outcome.kept),
            merged_ids=[c.id for c in outcome.merged],
            orders_moved=result.orders,
            timeline_entries_moved=result.timeline_entries,
            tags_added=list(outcome.tags_added),
            attributes_added=list(outcome.attributes_added),
            fields_filled=list(outcome.fields_filled),
        ),
    )
