"""The privacy request job of the exports service against moto (chalicelib.exports.privacy)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.exports.privacy.files.rules import schema
from chalicelib.exports.privacy.usecases import files
from clientela.events import OutgoingEvent
from clientela_events.privacy import (
    PrivacyContributedV1,
    PrivacyErasedV1,
    PrivacyFailedV1,
    answer_event_id,
)
from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.privacy_support import BUCKET, answers, eventbridge, requested, sqs_record
from tests.service.privacy_support import request as make

__all__ = ["answers"]  # the fixture

CUSTOMER = "01JD70000000000000000000C1"
SOURCES = {
    "customers": "clientela.customers",
    "credits": "clientela.credits",
    "automation": "clientela.automation",
}


@pytest.fixture
def exports(apps: dict[str, Any], headers: dict[str, str]) -> Any:
    with Client(apps["exports"].app) as client:
        yield Api(client, headers)


def deliver(apps: dict[str, Any], *bodies: dict[str, Any]) -> Any:
    records = [sqs_record(body, "clientela-exports-privacy") for body in bodies]
    context = new_context(
        "clientela-exports", "on_privacy_event", region="us-east-1", account="123456789012"
    )
    return apps["exports"].on_privacy_event({"Records": records}, context)


def published_requests() -> list[dict[str, Any]]:
    """The privacy.requested the exports service put on the bus (read back from its queue)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="clientela-exports-privacy")["QueueUrl"]
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def answer(store_id: str, service: str, event_type: str, data: Any) -> dict[str, Any]:
    event = OutgoingEvent(
        event_type,
        1,
        answer_event_id(data.request_id, service, event_type),
        store_id,
        datetime.now(UTC),
        data,
        source=SOURCES.get(service, "clientela.exports"),
    )
    return eventbridge(event)


def contributed(store_id: str, request: dict[str, Any], service: str, part: Any) -> dict[str, Any]:
    key = f"privacy/{store_id}/{request['id']}/{service}.json"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(part).encode())
    data = PrivacyContributedV1(
        request_id=request["id"],
        customer_id=CUSTOMER,
        service=service,
        part_key=key,
        records=1,
        contributed_at=datetime.now(UTC),
    )
    return answer(store_id, service, "privacy.contributed", data)


def erased(store_id: str, request: dict[str, Any], service: str) -> dict[str, Any]:
    data = PrivacyErasedV1(
        request_id=request["id"],
        customer_id=CUSTOMER,
        service=service,
        erased={"profile": 1},
        erased_at=datetime.now(UTC),
    )
    return answer(store_id, service, "privacy.erased", data)


def requested_event(store_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """The request as the bus hands it to the exports queue (its own part)."""
    data = make(store_id, CUSTOMER, request["kind"], request["id"])
    assert data.parts_bucket == files().bucket
    return requested(store_id, data)


def start(exports: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = exports.call("POST", "/privacy/requests", body)
    assert created.status == 202, created.body
    assert created.headers["location"] == f"/privacy/requests/{created.body['id']}"
    return dict(created.body)


def test_a_request_is_announced_and_waits_for_every_service(exports: Api, store_id: str) -> None:
    request = start(exports, {"kind": "access", "customer_id": CUSTOMER, "format": "xml"})
    assert request["status"] == "in_progress"
    assert request["waiting_for"] == ["customers", "credits", "automation", "exports"]
    assert request["reason"] == "Waiting for customers, credits, automation, exports to confirm"
    assert request["deadlines"]["lgpd"] < request["deadlines"]["gdpr"]
    assert request["due_at"] == request["deadlines"]["lgpd"]
    assert request["file"] is None
    # The request reached the bus (the exports service follows its own request too).
    mine = [e for e in published_requests() if e["detail"]["metadata"]["store_id"] == store_id]
    assert [e["detail-type"] for e in mine] == ["privacy.requested"]
    data = mine[0]["detail"]["data"]
    assert (data["request_id"], data["customer_id"], data["kind"]) == (
        request["id"],
        CUSTOMER,
        "access",
    )
    assert data["parts_prefix"] == f"privacy/{store_id}/{request['id']}/"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "erasure", "customer_id": CUSTOMER, "format": "xml"}, "format"),
        ({"kind": "access", "customer_id": "not an id"}, "customer_id"),
        ({"kind": "access", "customer_id": CUSTOMER, "format": "pdf"}, "format"),
        ({"kind": "forget", "customer_id": CUSTOMER}, "kind"),
        ({"kind": "access"}, "customer_id"),
    ],
)
def test_bad_requests_are_refused_naming_the_field_and_nothing_is_kept(
    exports: Api, body: dict[str, Any], field: str
) -> None:
    answer_ = exports.call("POST", "/privacy/requests", body)
    assert answer_.status == 422, answer_.body
    assert field in [e["field"] for e in answer_.body["errors"]]
    assert exports.call("GET", "/privacy/requests").body["items"] == []


def test_access_completes_only_when_all_four_confirmed_once_each(
    apps: Any, exports: Api, store_id: str
) -> None:
    request = start(exports, {"kind": "access", "customer_id": CUSTOMER, "format": "xml"})
    customers = contributed(store_id, request, "customers", {"profile": {"email": "a@b.c"}})
    credits = contributed(store_id, request, "credits", {"lots": []})
    # The exports service's own part, then two answers, one of them redelivered.
    assert deliver(apps, requested_event(store_id, request), customers, customers, credits) == {
        "batchItemFailures": []
    }
    shown = exports.call("GET", f"/privacy/requests/{request['id']}").body
    assert shown["status"] == "in_progress"
    assert shown["waiting_for"] == ["automation"]
    assert shown["reason"] == "Waiting for automation to confirm"
    states = {s["service"]: s["state"] for s in shown["services"]}
    assert states == {
        "customers": "contributed",
        "credits": "contributed",
        "automation": "waiting",
        "exports": "contributed",
    }

    automation = contributed(store_id, request, "automation", {"messages": []})
    assert deliver(apps, automation, automation) == {"batchItemFailures": []}

    done = exports.call("GET", f"/privacy/requests/{request['id']}").body
    assert done["status"] == "completed"
    assert done["waiting_for"] == [] and done["reason"] is None
    url = done["file"]["url"]
    assert done["file"]["name"].endswith(".xml")
    assert done["file"]["expires_at"] > done["finished_at"]
    with urllib.request.urlopen(url) as response:  # noqa: S310 - the moto server's URL
        body = response.read()
    assert schema().validate(body) == []
    assert b"a@b.c" in body
    # The parts are gone once the file holds them.
    listed = boto3.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix=f"privacy/{store_id}/{request['id']}/"
    )
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["access.xml"]


def test_a_service_that_cannot_do_its_part_fails_the_request_with_its_reason(
    apps: Any, exports: Api, store_id: str
) -> None:
    request = start(exports, {"kind": "access", "customer_id": CUSTOMER})
    failed = PrivacyFailedV1(
        request_id=request["id"],
        customer_id=CUSTOMER,
        service="customers",
        reason="customer-not-found",
        detail="The store has no customer with this id",
        failed_at=datetime.now(UTC),
    )
    body = answer(store_id, "customers", "privacy.failed", failed)
    assert deliver(apps, body, body) == {"batchItemFailures": []}
    shown = exports.call("GET", f"/privacy/requests/{request['id']}").body
    assert shown["status"] == "failed"
    assert shown["reason"] == (
        "customers could not do its part: The store has no customer with this id"
        " (customer-not-found)"
    )
    assert shown["file"] is None
    # A late confirmation changes nothing.
    late = contributed(store_id, request, "credits", {})
    assert deliver(apps, late) == {"batchItemFailures": []}
    assert exports.call("GET", f"/privacy/requests/{request['id']}").body["status"] == "failed"


def test_an_erasure_completes_and_the_record_keeps_no_customer_id(
    apps: Any, exports: Api, store_id: str
) -> None:
    earlier = start(exports, {"kind": "access", "customer_id": CUSTOMER, "format": "json"})
    request = start(exports, {"kind": "erasure", "customer_id": CUSTOMER})
    own = requested_event(store_id, request)
    bodies = [own, *(erased(store_id, request, s) for s in ("customers", "credits", "automation"))]
    assert deliver(apps, *bodies, *bodies) == {"batchItemFailures": []}
    shown = exports.call("GET", f"/privacy/requests/{request['id']}").body
    assert shown["status"] == "completed"
    assert shown["customer_id"] is None
    assert len(shown["customer_ref"]) == 32
    own_state = next(s for s in shown["services"] if s["service"] == "exports")
    assert own_state["erased"] == {"access_files_deleted": 1, "request_links_forgotten": 2}
    listed = exports.call("GET", "/privacy/requests").body["items"]
    assert [r["id"] for r in listed] == [request["id"], earlier["id"]]
    assert CUSTOMER not in json.dumps(listed[0])


def test_the_data_export_route_is_an_access_request(exports: Api) -> None:
    created = exports.call("POST", f"/customers/{CUSTOMER}/data-export", {"format": "html"})
    assert created.status == 202, created.body
    assert (created.body["kind"], created.body["format"]) == ("access", "html")
    assert exports.call("POST", "/customers/nope/data-export", {}).status == 404
    missing = exports.call("GET", f"/privacy/requests/prv-{uuid.uuid4().hex}")
    assert missing.status == 404
