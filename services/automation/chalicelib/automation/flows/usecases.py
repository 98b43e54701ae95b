"""Use cases of flows: define, edit (versioned), take live or pause, activate a built-in one."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from chalicelib.automation.flows.rules import (
    BUILT_IN,
    Definition,
    Fault,
    problems_of,
    template_ids,
)
from chalicelib.automation.flows.store import (
    Flow,
    FlowNotFound,
    FlowSettings,
    FlowStore,
    StaleVersion,
)
from chalicelib.automation.settings import settings
from chalicelib.automation.templates import usecases as templates
from clientela import aws
from clientela.ids import new_id

__all__ = ["FlowNotFound", "NotLive", "StaleVersion", "UnknownTemplate"]


class NotLive(Exception):
    """The definition cannot go live: its faults, each naming the step."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = faults


class UnknownTemplate(Exception):
    pass


@functools.cache
def store() -> FlowStore:
    return FlowStore(aws.dynamodb(), settings().flows_table)


def _now() -> datetime:
    return datetime.now(UTC)


def known_templates(store_id: str, definition: Definition) -> set[str]:
    """The templates the definition names that the store can send (its own or built-in)."""
    return {
        template_id
        for template_id in template_ids(definition)
        if templates.get_template(store_id, template_id) is not None
    }


def check_live(store_id: str, definition: Definition) -> None:
    faults = problems_of(definition, known_templates=known_templates(store_id, definition))
    if faults:
        raise NotLive(faults)


def create_flow(store_id: str, *, name: str, definition: Definition, state: str) -> Flow:
    if state == "live":
        check_live(store_id, definition)
    now = _now()
    flow = Flow(store_id, new_id(), name, state, 1, definition, now, now)
    store().save(flow, expected_version=None)
    return flow


def get_flow(store_id: str, flow_id: str) -> Flow:
    flow = store().get(store_id, flow_id)
    if flow is None:
        raise FlowNotFound
    return flow


def list_flows(store_id: str) -> list[Flow]:
    return sorted(store().list(store_id), key=lambda flow: flow.flow_id, reverse=True)


def update_flow(
    store_id: str,
    flow_id: str,
    *,
    name: str,
    definition: Definition,
    expected_versions: frozenset[int],
) -> Flow:
    """A new version. Runs in progress keep the version they started with; new runs take this
    one. A live flow's new definition is checked in full first."""
    current = get_flow(store_id, flow_id)
    if expected_versions and current.version not in expected_versions:
        raise StaleVersion(current.version)
    if current.state == "live":
        check_live(store_id, definition)
    flow = Flow(
        store_id,
        flow_id,
        name,
        current.state,
        current.version + 1,
        definition,
        current.created_at,
        _now(),
    )
    store().save(flow, expected_version=current.version)
    return flow


def set_state(
    store_id: str, flow_id: str, state: str, *, expected_versions: frozenset[int] | None
) -> Flow:
    """draft / live / paused. Going live checks the whole definition. A paused flow starts no
    new runs; runs in progress go on."""
    current = get_flow(store_id, flow_id)
    if expected_versions and current.version not in expected_versions:
        raise StaleVersion(current.version)
    if current.state == state:
        return current
    if state == "live":
        check_live(store_id, current.definition)
    # The state is not part of the definition: the version stays, no new version item.
    flow = Flow(
        store_id,
        flow_id,
        current.name,
        state,
        current.version,
        current.definition,
        current.created_at,
        _now(),
    )
    store().save(flow, expected_version=current.version)
    return flow


def activate_template(store_id: str, template: str, state: str = "live") -> Flow:
    """A built-in flow, live at once (or a draft to review first)."""
    if template not in BUILT_IN:
        raise UnknownTemplate
    name, definition = BUILT_IN[template]
    return create_flow(
        store_id, name=name, definition=Definition.model_validate(definition), state=state
    )


def flow_settings(store_id: str) -> FlowSettings:
    return store().get_settings(store_id)


def put_flow_settings(store_id: str, values: FlowSettings, expected_version: int | None) -> None:
    current = store().get_settings(store_id)
    if expected_version is not None and expected_version != current.version:
        raise StaleVersion(current.version)
    store().put_settings(store_id, values, current.version)


def live_flows_for(store_id: str, event_type: str) -> list[Flow]:
    """The store's live flows an event of this type starts."""
    return [
        flow
        for flow in store().list(store_id)
        if flow.state == "live" and flow.definition.trigger.event == event_type
    ]


def live_segment_flows(store_id: str, segment_id: str) -> list[Flow]:
    """The store's live flows that entering this segment starts."""
    return [flow for flow in segment_flows(store_id, segment_id) if flow.state == "live"]


def segment_flows(store_id: str, segment_id: str) -> list[Flow]:
    """The store's flows triggered by this segment, whatever their state: a paused flow's runs
    go on, so leaving the segment still ends them."""
    return [
        flow
        for flow in store().list(store_id)
        if flow.definition.trigger.type == "segment"
        and flow.definition.trigger.segment_id == segment_id
    ]


def live_date_flows() -> list[Flow]:
    """Every live flow with a date trigger, of every store that has one."""
    return [
        flow
        for store_id in store().dated_stores()
        for flow in store().list(store_id)
        if flow.state == "live" and flow.definition.trigger.type == "date"
    ]


def definition_of(store_id: str, flow_id: str, version: int) -> Definition | None:
    return store().version(store_id, flow_id, version)
