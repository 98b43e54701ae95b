"""Leaving a segment ends the runs it started, against moto with Step Functions executing:
`segment.exited` (the customers service's event) ends the customer's run of each flow that
segment triggers, before its next send; a redelivered exit counts once, an exit older than the
run's entry ends nothing, an exit delivered before its entry still stops the run, and a paused
flow's runs end too."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from bench.flowsdriver import FlowsDriver, sent_mail_to
from clientela_events.segments import SegmentExitedV1
from tests.service.conftest import Api
from tests.service.test_automation_flows import contact
from tests.service.test_flow_segments import SEGMENT, T0, enter, segment_flow


def leave(
    driver: FlowsDriver, customer_id: str, at: datetime, segment_id: str = SEGMENT, **kw: Any
) -> uuid.UUID:
    data = SegmentExitedV1(segment_id=segment_id, customer_id=customer_id, at=at)
    return driver.publish("segment.exited", data, at, kw.get("event_id"))


def stats(api: Api, flow_id: str) -> dict[str, Any]:
    answer = api.call("GET", f"/flows/{flow_id}/stats")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def test_leaving_the_segment_ends_the_run_before_it_sends(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api)
    customer_id, email = contact(store_id)
    stayer_id, stayer_email = contact(store_id, name="Bia")
    enter(driver, customer_id, T0)
    enter(driver, stayer_id, T0)
    driver.settle()
    # Paused: runs in progress go on, and leaving the segment still ends them.
    paused = flows_api.call("PUT", f"/flows/{flow_id}/state", {"state": "paused"})
    assert paused.status == 200, paused.body

    exit_id = leave(driver, customer_id, T0 + timedelta(minutes=20))
    leave(driver, customer_id, T0 + timedelta(minutes=20), event_id=exit_id)  # redelivered
    leave(driver, stayer_id, T0 + timedelta(minutes=20), segment_id="01JQ0000000000000000000009")
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))

    assert list(sent_mail_to(email)) == []
    assert len(list(sent_mail_to(stayer_email))) == 1  # left another segment: goes on
    answer = stats(flows_api, flow_id)
    assert answer["entered"] == 2
    assert answer["ended"] == {"segment_exited": 1}
    assert answer["sent"] == 1


def test_an_exit_older_than_the_entry_ends_nothing(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api, reentry={"policy": "after", "days": 1})
    customer_id, email = contact(store_id)
    enter(driver, customer_id, T0)
    driver.settle()
    # The exit of an earlier membership, delivered late.
    leave(driver, customer_id, T0 - timedelta(hours=3))
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))

    assert len(list(sent_mail_to(email))) == 1
    assert stats(flows_api, flow_id)["ended"] == {}


def test_an_exit_delivered_before_its_entry_still_stops_the_run(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    flow_id = segment_flow(flows_api)
    customer_id, email = contact(store_id)
    leave(driver, customer_id, T0 + timedelta(minutes=5))
    driver.settle()
    enter(driver, customer_id, T0)  # the entry the exit followed, delivered last
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=2))

    assert list(sent_mail_to(email)) == []
    answer = stats(flows_api, flow_id)
    assert answer["entered"] == 1
    assert answer["ended"] == {"segment_exited": 1}
