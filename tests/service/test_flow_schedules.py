"""Scheduled triggers against moto with Step Functions executing: the every-minute tick opens
one fan-out job per occurrence, whose pages walk the contacts read model shard by shard; each
contact the flow filter lets in enters once per occurrence, whatever the redeliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bench.flowsdriver import FlowsDriver, sent_mail_to
from tests.service.conftest import Api
from tests.service.test_automation_flows import contact


def at_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def fired_at(api: Api, flow_id: str) -> list[str]:
    """The minutes of the flow's occurrences that fired, newest first.

    The tick fires every store's due flows (other tests' flows too): what one flow did is read
    from its own occurrences, never from the tick's count.
    """
    answer = api.call("GET", f"/flows/{flow_id}/occurrences")
    assert answer.status == 200, answer.body
    return [str(item["at"])[:16] for item in answer.body["items"]]


def minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def daily_flow(api: Api, time: str) -> dict[str, Any]:
    """Every day at `time` (the store's zone: UTC here), Brazilian subscribers get a mail."""
    definition = {
        "trigger": {"type": "schedule", "schedule": {"time": time}},
        "filter": {"countries": ["BR"]},
        "reentry": {"policy": "after", "days": 1},
        "steps": [{"id": "news", "type": "send_email", "template_id": "builtin-welcome"}],
    }
    answer = api.call(
        "POST", "/flows", {"name": "Daily", "definition": definition, "state": "live"}
    )
    assert answer.status == 201, answer.body
    return dict(answer.body)


def test_each_occurrence_enters_every_contact_the_filter_lets_in_once(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    # The flow goes live now (the machine's time): occurrences before it never fire.
    due = at_minute(datetime.now(UTC) + timedelta(hours=2))
    flow = daily_flow(flows_api, due.strftime("%H:%M"))
    brazil = [contact(store_id, name=f"Ana{i}")[1] for i in range(3)]
    _, italy = contact(store_id, country="IT", name="Eva")

    driver.fire_schedules(due - timedelta(minutes=1))
    assert fired_at(flows_api, flow["id"]) == []
    driver.fire_schedules(due)
    assert fired_at(flows_api, flow["id"]) == [minute(due)]
    driver.fire_schedules(due + timedelta(minutes=1))
    assert fired_at(flows_api, flow["id"]) == [minute(due)]  # fired already

    assert [len(list(sent_mail_to(email))) for email in brazil] == [1, 1, 1]
    assert list(sent_mail_to(italy)) == []
    # The next day's occurrence: a new run each (re-entry after a day).
    driver.fire_schedules(due + timedelta(days=1, minutes=5))
    assert fired_at(flows_api, flow["id"]) == [minute(due + timedelta(days=1)), minute(due)]
    assert [len(list(sent_mail_to(email))) for email in brazil] == [2, 2, 2]
    stats = flows_api.call("GET", f"/flows/{flow['id']}/stats").body
    assert stats["entered"] == 6


def test_the_fan_out_resumes_page_by_page_and_redelivered_pages_start_nothing_new(
    flows_api: Api, driver: FlowsDriver, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.automation.runs import usecases

    monkeypatch.setattr(usecases, "FANOUT_PAGE", 1)  # every contact its own page
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="clientela-automation-flow-steps")["QueueUrl"]
    sent: list[dict[str, Any]] = []
    queue = usecases._queue_fanout

    def queue_twice(messages: list[dict[str, Any]]) -> None:
        """Every page message delivered twice, as SQS may."""
        sent.extend(messages)
        queue(messages)
        queue(messages)

    monkeypatch.setattr(usecases, "_queue_fanout", queue_twice)
    due = at_minute(datetime.now(UTC) + timedelta(hours=3))
    flow = daily_flow(flows_api, due.strftime("%H:%M"))
    emails = [contact(store_id, name=f"Bia{i}")[1] for i in range(6)]

    driver.fire_schedules(due)
    assert fired_at(flows_api, flow["id"]) == [minute(due)]

    assert [len(list(sent_mail_to(email))) for email in emails] == [1] * 6
    status = usecases.fanout_status(store_id, flow["id"], due)
    assert status == {"shards_done": 16, "started": 6}
    # One message per shard, then one per page that moved a cursor: a copy that finds the
    # cursor moved queues nothing, so the walk never forks.
    # (Other tests' flows may come due in the same tick: only this flow's pages count.)
    assert len([m for m in sent if flow["id"] in json.dumps(m)]) <= 16 + 6
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_paused_flow_fires_nothing_and_going_live_again_skips_what_was_missed(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    due = at_minute(datetime.now(UTC) + timedelta(hours=4))
    flow = daily_flow(flows_api, due.strftime("%H:%M"))
    _, email = contact(store_id)
    flows_api.call("PUT", f"/flows/{flow['id']}/state", {"state": "paused"})

    driver.fire_schedules(due + timedelta(minutes=1))

    assert fired_at(flows_api, flow["id"]) == []
    assert list(sent_mail_to(email)) == []


def test_once_at_an_instant(flows_api: Api, driver: FlowsDriver, store_id: str) -> None:
    at = at_minute(datetime.now(UTC) + timedelta(days=2))
    definition = {
        "trigger": {"type": "schedule", "schedule": {"at": at.isoformat()}},
        "steps": [{"id": "news", "type": "send_email", "template_id": "builtin-welcome"}],
    }
    created = flows_api.call(
        "POST", "/flows", {"name": "Launch", "definition": definition, "state": "live"}
    )
    assert created.status == 201, created.body
    _, email = contact(store_id)

    from chalicelib.automation.flows import usecases as flows

    driver.fire_schedules(at - timedelta(minutes=1))
    driver.fire_schedules(at + timedelta(minutes=1))
    driver.fire_schedules(at + timedelta(days=7))

    assert len(list(sent_mail_to(email))) == 1
    # Fired once: the every-minute tick no longer reads it.
    assert created.body["id"] not in [flow_id for _, flow_id, _ in flows.store().scheduled()]
