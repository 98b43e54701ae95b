"""The automation service's part of privacy requests against moto (chalicelib.automation.privacy)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from bench.flowsdriver import FlowsDriver
from tests.service.automation_mail import created, customer, invoke
from tests.service.automation_mail import sqs_record as contact_record
from tests.service.conftest import Api
from tests.service.privacy_support import answers, read_part, request, requested, sqs_record
from tests.service.test_automation_flows import T0, abandoned_cart, contact, mails
from tests.service.test_automation_flows import cart as cart_updated
from tests.service.test_automation_sending import cart, origin

__all__ = ["answers"]  # the fixture


@pytest.fixture
def api(apps: dict[str, Any], headers: dict[str, str]) -> Iterator[Api]:
    with Client(apps["automation"].app) as client:
        yield Api(client, headers)


def _deliver(apps: dict[str, Any], *bodies: dict[str, Any]) -> Any:
    records = [sqs_record(b, "clientela-automation-contact-events") for b in bodies]
    return invoke(apps["automation"], "on_contact_event", *records)


def _ana(apps: dict[str, Any], api: Api, store_id: str) -> str:
    """A contact with one flow send and one thread of messages."""
    from chalicelib.automation.sending import usecases as sending

    cid = "C" + uuid.uuid4().hex[:20].upper()
    profile = customer(cid)
    invoke(apps["automation"], "on_contact_event", contact_record(created(store_id, profile)))
    outcome = sending.send_email(
        store_id,
        customer_id=cid,
        template_id="builtin-abandoned-cart",
        context={"cart": cart()},
        marketing=True,
        origin=origin(),
        idempotency_key=f"k-{cid}",
    )
    assert outcome.status == "sent"
    sent = api.call(
        "POST", f"/customers/{cid}/messages", {"subject": "Sua troca", "body": "Olá Ana"}
    )
    assert sent.status == 201, sent.body
    return cid


def test_access_part_holds_the_contact_sends_and_threads(
    apps: Any, api: Api, store_id: str, answers: Any
) -> None:
    cid = _ana(apps, api, store_id)
    assert _deliver(apps, requested(store_id, request(store_id, cid))) == {"batchItemFailures": []}
    [event] = answers()
    assert (event["detail-type"], event["source"]) == (
        "privacy.contributed",
        "clientela.automation",
    )
    part = read_part(event["detail"]["data"]["part_key"])
    assert part["contact"]["email"] == profile_email(cid)
    assert [s["origin"]["flow_id"] for s in part["sends"]] == ["flow-1"]
    [thread] = part["threads"]
    assert thread["subject"] == "Sua troca"
    assert [m["direction"] for m in thread["messages"]] == ["outbound"]


def profile_email(cid: str) -> str:
    return f"{cid.lower()}@example.com"


def test_erasure_forgets_the_contact_deletes_threads_and_unlinks_sends_once(
    apps: Any, api: Api, store_id: str, answers: Any
) -> None:
    from chalicelib.automation.contacts.usecases import get_contact
    from chalicelib.automation.sending.usecases import send_store

    cid = _ana(apps, api, store_id)
    body = requested(store_id, request(store_id, cid, "erasure"))
    assert _deliver(apps, body, body) == {"batchItemFailures": []}

    first, again = answers()
    assert first["detail"]["data"]["erased"] == {
        "contact": 1,
        "threads": 1,
        "messages": 1,
        "flow_runs": 0,
        "flow_items": 0,
        "sends_unlinked": 1,
    }
    assert again["detail"]["data"]["erased"] == {
        "contact": 0,
        "threads": 0,
        "messages": 0,
        "flow_runs": 0,
        "flow_items": 0,
        "sends_unlinked": 0,
    }
    assert get_contact(store_id, cid) is None
    assert list(send_store().of_customer(store_id, cid)) == []
    assert api.call("GET", f"/customers/{cid}/messages").body["items"] == []
    # A late profile event does not bring the contact back.
    late = customer(cid, version=99)
    invoke(apps["automation"], "on_contact_event", contact_record(created(store_id, late)))
    assert get_contact(store_id, cid) is None
    assert profile_email(cid) not in json.dumps([first, again])


def test_flow_runs_are_in_the_access_part_and_erasure_stops_and_deletes_them_once(
    apps: Any, api: Api, store_id: str, answers: Any
) -> None:
    from chalicelib.automation.runs import usecases as runs

    flow = abandoned_cart(api)
    driver = FlowsDriver(apps["automation"], store_id)
    cid, email = contact(store_id)
    cart_updated(driver, cid, T0)
    driver.settle()
    driver.fire_timers(T0 + timedelta(hours=5))  # the first reminder; the second waits a day
    assert len(mails(email)) == 1
    [run_id] = runs.store().customer_runs(store_id, cid)

    assert _deliver(apps, requested(store_id, request(store_id, cid))) == {"batchItemFailures": []}
    [access] = answers()
    [run] = read_part(access["detail"]["data"]["part_key"])["flow_runs"]
    assert (run["run_id"], run["flow_id"], run["flow_name"]) == (run_id, flow["id"], flow["name"])
    assert (run["version"], run["status"], run["ended_at"]) == (flow["version"], "active", None)
    assert run["started_at"] == T0.isoformat()
    assert [(s["step_id"], s["outcome"]) for s in run["steps"]][:2] == [
        ("wait-4h", "waiting"),
        ("reminder", "sent"),
    ]
    assert run["steps"][1]["decided_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert [(s["step_id"], s["status"]) for s in run["sends"]] == [("reminder", "sent")]

    body = requested(store_id, request(store_id, cid, "erasure"))
    assert _deliver(apps, body, body) == {"batchItemFailures": []}
    first, again = answers()
    erased = first["detail"]["data"]["erased"]
    assert erased["flow_runs"] == 1
    # membership, run reference, SEEN#cart.updated, CART, SMART
    assert erased["flow_items"] == 5
    assert (
        again["detail"]["data"]["erased"]["flow_runs"],
        again["detail"]["data"]["erased"]["flow_items"],
    ) == (0, 0)
    assert runs.store().customer_runs(store_id, cid) == []
    assert runs.store().get_run(store_id, run_id) is None
    assert runs.store().cart(store_id, cid) == []
    assert runs.store().dates(store_id, cid) == {}
    # The second reminder's day comes: no timer is left to resume the run.
    assert runs.store().claim_timer(store_id, run_id) is None
    driver.fire_timers(T0 + timedelta(days=3))
    driver.settle()
    assert len(mails(email)) == 1
    # A decision task still in flight ends the run without writing anything of it back.
    late = {
        "run": {
            "store_id": store_id,
            "run_id": run_id,
            "flow_id": flow["id"],
            "version": flow["version"],
            "customer_id": cid,
        },
        "step": "second",
        "seq": 4,
        "now": (T0 + timedelta(days=2)).isoformat(),
    }
    assert runs.decide(late)["reason"] == "unknown_run"
    assert runs.store().steps(store_id, run_id) == []
    assert runs.store().customer_runs(store_id, cid) == []
