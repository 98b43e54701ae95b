"""The automation service's part of privacy requests against moto (chalicelib.automation.privacy)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.service.automation_mail import created, customer, invoke
from tests.service.automation_mail import sqs_record as contact_record
from tests.service.conftest import Api
from tests.service.privacy_support import answers, read_part, request, requested, sqs_record
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
        "sends_unlinked": 1,
    }
    assert again["detail"]["data"]["erased"] == {
        "contact": 0,
        "threads": 0,
        "messages": 0,
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
