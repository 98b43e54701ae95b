"""Credits follows customer events: idempotent on the event id, right in any order."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from clientela.events import OutgoingEvent
from clientela_events.customers import CustomerCreatedV1, CustomerDeletedV1, CustomerV1
from clientela_local.lambda_context import new_context
from tests.service.conftest import Api
from tests.service.streams import new_records

WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def created(store_id: str, customer_id: str) -> OutgoingEvent:
    customer = CustomerV1(
        id=customer_id, email="x@example.com", created_at=WHEN, updated_at=WHEN, version=1
    )
    return OutgoingEvent(
        "customer.created", 1, uuid.uuid4(), store_id, WHEN, CustomerCreatedV1(customer=customer)
    )


def deleted(store_id: str, customer_id: str) -> OutgoingEvent:
    data = CustomerDeletedV1(customer_id=customer_id, version=1, deleted_at=WHEN)
    return OutgoingEvent("customer.deleted", 1, uuid.uuid4(), store_id, WHEN, data)


def sqs_record(event: OutgoingEvent | str) -> dict[str, Any]:
    """The SQS record Lambda hands the handler for an EventBridge event delivered to a queue."""
    if isinstance(event, OutgoingEvent):
        entry = event.entry("clientela")
        body = json.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "time": WHEN.isoformat(),
                "region": "us-east-1",
                "resources": [],
                "detail": json.loads(entry["Detail"]),
            }
        )
    else:
        body = event
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:clientela-credits-customer-events",
    }


def publish_changes(
    apps: dict[str, Any], store_id: str, records: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Runs the credits table stream's new records of this store (or `records`) through the
    publisher, as the event source mapping does on AWS (and the local stack's poller)."""
    context = new_context(
        "clientela-credits", "publish_credit_changes", region="us-east-1", account="123456789012"
    )
    batch = stream_records(store_id) if records is None else records
    result: dict[str, Any] = apps["credits"].publish_credit_changes({"Records": batch}, context)
    return result


def stream_records(store_id: str) -> list[dict[str, Any]]:
    """The credits table stream's records of this store since the last read. Records of other
    stores are passed over: each test publishes its own."""
    return [
        r
        for r in new_records("clientela-credits")
        if f"#{store_id}#" in r["dynamodb"]["Keys"]["pk"]["S"]
    ]


@pytest.fixture
def deliver(apps: dict[str, Any]) -> Any:
    def run(*records: dict[str, Any]) -> Any:
        context = new_context(
            "clientela-credits", "on_customer_event", region="us-east-1", account="123456789012"
        )
        return apps["credits"].on_customer_event({"Records": list(records)}, context)

    return run


@pytest.fixture
def wallets(apps: dict[str, Any], headers: dict[str, str]) -> Any:
    with Client(apps["credits"].app) as client:
        yield Api(client, headers)


def test_a_new_customer_gets_an_empty_wallet(deliver, wallets, store_id) -> None:
    customer_id = "01JD40000000000000000000AA"

    assert deliver(sqs_record(created(store_id, customer_id))) == {"batchItemFailures": []}

    answer = wallets.call("GET", f"/wallets/{customer_id}")
    assert answer.status == 200
    assert answer.body["status"] == "open"
    assert answer.body["balance"] == "0.00"


def test_redelivery_changes_nothing_twice(deliver, wallets, store_id) -> None:
    customer_id = "01JD40000000000000000000AB"
    event = sqs_record(created(store_id, customer_id))

    deliver(event)
    first = wallets.call("GET", f"/wallets/{customer_id}").body
    deliver(event, event)

    assert wallets.call("GET", f"/wallets/{customer_id}").body == first


def test_a_deletion_that_overtakes_the_creation_wins(deliver, wallets, store_id) -> None:
    customer_id = "01JD40000000000000000000AC"

    deliver(sqs_record(deleted(store_id, customer_id)))
    deliver(sqs_record(created(store_id, customer_id)))

    assert wallets.call("GET", f"/wallets/{customer_id}").body["status"] == "closed"


def test_deletion_closes_an_open_wallet(deliver, wallets, store_id) -> None:
    customer_id = "01JD40000000000000000000AD"
    deliver(sqs_record(created(store_id, customer_id)))

    deliver(sqs_record(deleted(store_id, customer_id)))

    body = wallets.call("GET", f"/wallets/{customer_id}").body
    assert body["status"] == "closed"
    assert body["closed_at"] is not None


def test_a_poison_message_fails_alone(deliver, wallets, store_id) -> None:
    good = sqs_record(created(store_id, "01JD40000000000000000000AE"))
    poison = sqs_record('{"detail-type": "customer.created", "detail": {"metadata": {}}}')

    result = deliver(poison, good)

    assert result == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert wallets.call("GET", "/wallets/01JD40000000000000000000AE").status == 200


def test_a_wallet_of_another_store_is_404(deliver, wallets, store_id, apps) -> None:
    deliver(sqs_record(created("store-elsewhere", "01JD40000000000000000000AF")))

    assert wallets.call("GET", "/wallets/01JD40000000000000000000AF").status == 404
