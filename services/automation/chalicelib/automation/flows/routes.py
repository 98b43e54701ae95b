"""Routes of /flows: define flows as JSON, edit them (If-Match), take them live, pause them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.automation.flows import usecases
from chalicelib.automation.flows.models import (
    Flow,
    FlowChange,
    FlowList,
    NewFlow,
    Settings,
    StateChange,
    TemplateQuery,
)
from chalicelib.automation.flows.store import FlowSettings
from clientela import problems
from clientela.api import Call, Reply, Routes, if_match_versions
from clientela.problems import FieldError, Problem

routes = Routes()
register = routes.register


def _not_live(error: usecases.NotLive, prefix: str) -> Problem:
    return Problem(
        422,
        "flow-not-valid",
        "The flow cannot go live",
        "; ".join(fault.reason for fault in error.faults),
        [FieldError(f"{prefix}{fault.field}", fault.reason, fault.code) for fault in error.faults],
    )


def _stale(error: usecases.StaleVersion) -> Problem:
    return problems.precondition_failed(f"The flow is at version {error.current}")


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


@routes.route(
    "/flows",
    "POST",
    summary="Define a flow",
    body=NewFlow,
    response=Flow,
    status=201,
    response_headers=("Location", "ETag"),
    creates="flow_id",
)
def create_flow(call: Call) -> Reply:
    """A trigger, a customer filter and steps, as JSON; a draft unless `state` is `live`, which
    checks the whole definition first (422 naming each faulty step)."""
    body: NewFlow = call.body
    try:
        flow = usecases.create_flow(
            call.store_id, name=body.name, definition=body.definition, state=body.state
        )
    except usecases.NotLive as error:
        raise _not_live(error, "definition.") from None
    return Reply(201, Flow.of(flow), {"Location": f"/flows/{flow.flow_id}", **_etag(flow.version)})


@routes.route("/flows", "GET", summary="List the store's flows", response=FlowList)
def list_flows(call: Call) -> Reply:
    """Newest first."""
    return Reply(200, FlowList(items=[Flow.of(f) for f in usecases.list_flows(call.store_id)]))


@routes.route(
    "/flows/{flow_id}",
    "GET",
    summary="Get a flow",
    response=Flow,
    errors=(404,),
    response_headers=("ETag",),
)
def get_flow(call: Call, flow_id: str) -> Reply:
    try:
        flow = usecases.get_flow(call.store_id, flow_id)
    except usecases.FlowNotFound:
        raise problems.not_found("flow") from None
    return Reply(200, Flow.of(flow), _etag(flow.version))


@routes.route(
    "/flows/{flow_id}",
    "PUT",
    summary="Edit a flow (a new version)",
    body=FlowChange,
    response=Flow,
    errors=(404, 412),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def update_flow(call: Call, flow_id: str) -> Reply:
    """Needs `If-Match` with the version last read (412 if it moved on). Runs in progress
    finish on the version they started with; new runs take the new one. A live flow's new
    definition is checked in full first."""
    versions = if_match_versions(call.header("If-Match"))
    if versions is None:
        raise problems.invalid([FieldError("If-Match", "Required")], "Send the version you read")
    body: FlowChange = call.body
    try:
        flow = usecases.update_flow(
            call.store_id,
            flow_id,
            name=body.name,
            definition=body.definition,
            expected_versions=versions,
        )
    except usecases.FlowNotFound:
        raise problems.not_found("flow") from None
    except usecases.StaleVersion as error:
        raise _stale(error) from None
    except usecases.NotLive as error:
        raise _not_live(error, "definition.") from None
    return Reply(200, Flow.of(flow), _etag(flow.version))


@routes.route(
    "/flows/{flow_id}/state",
    "PUT",
    summary="Take a flow live, pause it, or back to draft",
    body=StateChange,
    response=Flow,
    errors=(404, 412),
    headers=("If-Match",),
    response_headers=("ETag",),
)
def set_state(call: Call, flow_id: str) -> Reply:
    """Going live checks the whole definition (422 naming each faulty step). Paused: no new
    runs start; runs in progress go on."""
    body: StateChange = call.body
    try:
        flow = usecases.set_state(
            call.store_id,
            flow_id,
            body.state,
            expected_versions=if_match_versions(call.header("If-Match")),
        )
    except usecases.FlowNotFound:
        raise problems.not_found("flow") from None
    except usecases.StaleVersion as error:
        raise _stale(error) from None
    except usecases.NotLive as error:
        raise _not_live(error, "definition.") from None
    return Reply(200, Flow.of(flow), _etag(flow.version))


@routes.route(
    "/flows/templates/{template}",
    "POST",
    summary="Activate a built-in flow",
    query=TemplateQuery,
    response=Flow,
    status=201,
    errors=(404,),
    response_headers=("Location",),
    creates="flow_id",
    write=True,
)
def activate_template(call: Call, template: str) -> Reply:
    """One call, live at once: abandoned_cart, welcome, win_back, post_purchase_review,
    credit_expiring, birthday. `state=draft` sets it up as a draft to review first."""
    query: TemplateQuery = call.query
    try:
        flow = usecases.activate_template(call.store_id, template, state=query.state)
    except usecases.UnknownTemplate:
        raise problems.not_found("built-in flow") from None
    except usecases.NotLive as error:
        raise _not_live(error, "") from None
    return Reply(201, Flow.of(flow), {"Location": f"/flows/{flow.flow_id}"})


@routes.route("/flows/settings", "GET", summary="The store's flow settings", response=Settings)
def get_settings(call: Call) -> Reply:
    """Time zone, quiet hours, smart sending window, shop URL (for links back to the cart)."""
    return Reply(200, Settings.of(usecases.flow_settings(call.store_id)))


@routes.route(
    "/flows/settings",
    "PUT",
    summary="Set the store's flow settings",
    body=Settings,
    response=Settings,
    errors=(412,),
    headers=("If-Match",),
)
def put_settings(call: Call) -> Reply:
    body: Settings = call.body
    if body.time_zone is not None:
        try:
            ZoneInfo(body.time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file can have
            raise problems.invalid([FieldError("time_zone", "Not an IANA time zone")]) from None
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise problems.invalid([FieldError("quiet_end", "Quiet hours need a start and an end")])
    versions = if_match_versions(call.header("If-Match"))
    try:
        usecases.put_flow_settings(
            call.store_id,
            FlowSettings(**body.model_dump()),
            expected_version=min(versions) if versions else None,
        )
    except usecases.StaleVersion as error:
        raise _stale(error) from None
    return Reply(200, Settings.of(usecases.flow_settings(call.store_id)))
