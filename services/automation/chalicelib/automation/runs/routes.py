"""Routes of runs: a scheduled flow's occurrences, each with its fan-out job's progress."""

from __future__ import annotations

from chalicelib.automation.flows import usecases as flows
from chalicelib.automation.runs import usecases
from chalicelib.automation.runs.models import Occurrence, OccurrenceList, OccurrenceQuery
from chalicelib.automation.runs.rules import occurrence_at
from chalicelib.automation.settings import link_key
from clientela import problems
from clientela.api import Call, Reply, Routes
from clientela.cursor import decode_cursor, encode_cursor

routes = Routes()
register = routes.register


def _flow(call: Call, flow_id: str) -> None:
    try:
        flows.get_flow(call.store_id, flow_id)
    except flows.FlowNotFound:
        raise problems.not_found("flow") from None


@routes.route(
    "/flows/{flow_id}/occurrences",
    "GET",
    summary="A scheduled flow's occurrences and their fan-out",
    description=(
        "Newest first: each occurrence that fired, with its status, per-shard progress and"
        " runs started. Paginated: follow `next_cursor` until it is null."
    ),
    query=OccurrenceQuery,
    response=OccurrenceList,
    errors=(404,),
)
def list_occurrences(call: Call, flow_id: str) -> Reply:
    query: OccurrenceQuery = call.query
    _flow(call, flow_id)
    # Bound to this flow's listing; the link key signs cursors too (derived apart).
    scope = f"occurrences:{flow_id}"
    before = (
        decode_cursor(query.cursor, store_id=call.store_id, scope=scope, key=link_key())
        if query.cursor
        else None
    )
    after = before.get("after") if before else None
    jobs, last = usecases.occurrences_page(
        call.store_id, flow_id, query.limit, after if isinstance(after, str) else None
    )
    cursor = (
        encode_cursor({"after": last}, store_id=call.store_id, scope=scope, key=link_key())
        if last
        else None
    )
    return Reply(
        200,
        OccurrenceList(items=[Occurrence.of(flow_id, job) for job in jobs], next_cursor=cursor),
    )


@routes.route(
    "/flows/{flow_id}/occurrences/{occurrence_id}",
    "GET",
    summary="One occurrence of a scheduled flow and its fan-out",
    response=Occurrence,
    errors=(404,),
)
def get_occurrence(call: Call, flow_id: str, occurrence_id: str) -> Reply:
    """Its status, per-shard progress and runs started (`id` as listed)."""
    _flow(call, flow_id)
    at = occurrence_at(occurrence_id)
    job = usecases.occurrence(call.store_id, flow_id, at) if at is not None else None
    if job is None:
        raise problems.not_found("occurrence")
    return Reply(200, Occurrence.of(flow_id, job))
