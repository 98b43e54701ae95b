"""A scheduled flow's occurrences over HTTP, against moto: each occurrence the tick fired is
listed newest first with its fan-out job's status, per-shard progress and runs started, page by
page with a signed cursor; one is read by id; another store's flow, an unknown occurrence and
a foreign cursor are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalice.test import Client

from bench.flowsdriver import FlowsDriver
from tests.conftest import token_for
from tests.service.conftest import Api
from tests.service.test_automation_flows import contact
from tests.service.test_flow_schedules import at_minute, daily_flow


def test_the_occurrences_of_a_scheduled_flow_and_their_fan_out(
    flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    due = at_minute(datetime.now(UTC) + timedelta(hours=2))
    flow_id = daily_flow(flows_api, due.strftime("%H:%M"))["id"]
    contact(store_id)  # Brazilian: the filter lets them in
    contact(store_id, country="IT", name="Eva")
    path = f"/flows/{flow_id}/occurrences"
    assert flows_api.call("GET", path).body == {"items": [], "next_cursor": None}

    # The tick fires every store's due flows (other tests' too): its count says nothing of
    # this flow, whose occurrences below do.
    driver.fire_schedules(due)
    driver.fire_schedules(due + timedelta(days=1))

    first = flows_api.call("GET", f"{path}?limit=1")
    assert first.status == 200, first.body
    (newest,) = first.body["items"]
    assert newest["at"].startswith((due + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert (newest["status"], newest["shards"], newest["shards_done"]) == ("done", 16, 16)
    assert newest["runs_started"] == 1
    assert sum(shard["runs_started"] for shard in newest["progress"]) == 1
    assert [shard["shard"] for shard in newest["progress"]] == list(range(16))
    assert newest["flow_version"] == 1
    rest = flows_api.call("GET", f"{path}?limit=1&cursor={first.body['next_cursor']}")
    assert [item["at"][:16] for item in rest.body["items"]] == [due.strftime("%Y-%m-%dT%H:%M")]
    assert rest.body["next_cursor"] is None

    one = flows_api.call("GET", f"{path}/{newest['id']}")
    assert (one.status, one.body) == (200, newest)


def test_unknown_or_foreign_ids_are_404_and_a_foreign_cursor_422(
    apps: dict[str, Any], flows_api: Api, driver: FlowsDriver, store_id: str
) -> None:
    due = at_minute(datetime.now(UTC) + timedelta(hours=2))
    flow_id = daily_flow(flows_api, due.strftime("%H:%M"))["id"]
    driver.fire_schedules(due)
    listed = flows_api.call("GET", f"/flows/{flow_id}/occurrences?limit=1").body
    occurrence_id = listed["items"][0]["id"]
    with Client(apps["automation"].app) as client:
        other = Api(client, {"authorization": f"Bearer {token_for('store-other-occ')}"})
        assert other.call("GET", f"/flows/{flow_id}/occurrences").status == 404
        assert other.call("GET", f"/flows/{flow_id}/occurrences/{occurrence_id}").status == 404
    for unknown in ("20200101T000000Z", "not-an-instant"):
        answer = flows_api.call("GET", f"/flows/{flow_id}/occurrences/{unknown}")
        assert answer.status == 404, unknown
    foreign = flows_api.call("GET", f"/flows/{flow_id}/occurrences?cursor=garbage")
    assert foreign.status == 422
    assert [e["field"] for e in foreign.body["errors"]] == ["cursor"]
