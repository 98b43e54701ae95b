"""Segment-entry triggers against moto with Step Functions executing: `segment.entered` (the
customers service's event) starts one run per entry of each live flow naming the segment;
redelivery starts nothing new, the re-entry policy holds, other segments start nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.flowsdriver import FlowsDriver, sent_mail_to
from clientela_events.segments import SegmentEnteredV1
from tests.service.conftest import Api
from tests.service.test_automation_flows import contact

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEGMENT = "01JQ0000000000000000000001"


def segment_flow(api: Api, segment_id: str = SEGMENT, **extra: Any) -> str:
    definition = {
        "trigger": {"type": "segment", "segment_id": segment_id},
        "steps": [
            {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "hello"},
            {"id": "hello", "type": "send_email", "template_id": "builtin-welcome"},
        ],
        **extra,
    }
    answer = api.call("POST", "/flows", {"name": "VIP", "definition": definition, "state": "live"})
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def enter(
    driver: FlowsDriver, customer_id: str, at: datetime, segment_id: str = SEGMENT, **kw: Any
) -> uuid.UUID:
    data = SegmentEnteredV1(segment_id=segment_id, customer_id=customer_id, at=at)
    return driver.publish("segment.entered", data, at, kw.get("event_id"))


def entered(api: Api, flow_id: str) -> int:
    return int(api.call("GET", f"/flows/{flow_id}/stats").body["entered"])


def test_entering_the_segment_starts_one_run_per_entry(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api)
    customer_id, email = contact(store_id)
    other_id, other_email = contact(store_id, name="Bia")

    entry = enter(driver, customer_id, T0)
    enter(driver, customer_id, T0, event_id=entry)  # redelivered: the same entry
    enter(driver, other_id, T0, segment_id="01JQ0000000000000000000009")  # another segment
    driver.settle()
    driver.fire_timers(T0 + timedelta(minutes=30))
    assert list(sent_mail_to(email)) == []  # still waiting its hour
    driver.fire_timers(T0 + timedelta(hours=1, minutes=1))

    assert len(list(sent_mail_to(email))) == 1
    assert list(sent_mail_to(other_email)) == []
    assert entered(flows_api, flow_id) == 1
    # Left and entered again (a new segment.entered): re-entry "never" keeps them out.
    enter(driver, customer_id, T0 + timedelta(days=2))
    driver.settle()
    driver.fire_timers(T0 + timedelta(days=2, hours=2))
    assert len(list(sent_mail_to(email))) == 1
    assert entered(flows_api, flow_id) == 1


def test_re_entry_after_n_days_lets_a_later_entry_in(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api, reentry={"policy": "after", "days": 7})
    customer_id, email = contact(store_id)

    enter(driver, customer_id, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))
    enter(driver, customer_id, T0 + timedelta(days=3))  # too soon
    driver.settle()
    enter(driver, customer_id, T0 + timedelta(days=8))
    driver.settle()
    driver.fire_timers(T0 + timedelta(days=8, hours=2))

    assert len(list(sent_mail_to(email))) == 2
    assert entered(flows_api, flow_id) == 2


def test_a_paused_flow_and_a_draft_start_nothing(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api)
    flows_api.call("PUT", f"/flows/{flow_id}/state", {"state": "paused"})
    customer_id, email = contact(store_id)

    enter(driver, customer_id, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))

    assert list(sent_mail_to(email)) == []
    assert entered(flows_api, flow_id) == 0


@pytest.mark.parametrize("segment_id", [None, "vip", "new"])
def test_going_live_needs_the_id_of_a_saved_segment(flows_api: Api, segment_id: Any) -> None:
    trigger = {"type": "segment", **({"segment_id": segment_id} if segment_id else {})}
    definition = {"trigger": trigger, "steps": [{"id": "x", "type": "exit"}]}

    answer = flows_api.call(
        "POST", "/flows", {"name": "Bad", "definition": definition, "state": "live"}
    )

    assert answer.status == 422
    assert [e["field"] for e in answer.body["errors"]] == ["definition.trigger.segment_id"]
