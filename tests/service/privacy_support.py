"""What the privacy service tests share: requests as the bus delivers them, and the answers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from clientela.events import OutgoingEvent
from clientela_events.privacy import PrivacyRequestedV1

BUCKET = "clientela-exports-123456789012-us-east-1"
WHEN = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def request(
    store_id: str, customer_id: str, kind: str = "access", request_id: str | None = None
) -> PrivacyRequestedV1:
    request_id = request_id or f"prv-{uuid.uuid4().hex[:12]}"
    return PrivacyRequestedV1(
        request_id=request_id,
        customer_id=customer_id,
        kind=kind,
        requested_at=WHEN,
        parts_bucket=BUCKET,
        parts_prefix=f"privacy/{store_id}/{request_id}/",
    )


def eventbridge(event: OutgoingEvent) -> dict[str, Any]:
    """The EventBridge event a rule hands a queue (the SQS message body)."""
    entry = event.entry("clientela")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "time": WHEN.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def requested(store_id: str, data: PrivacyRequestedV1) -> dict[str, Any]:
    return eventbridge(OutgoingEvent("privacy.requested", 1, uuid.uuid4(), store_id, WHEN, data))


def sqs_record(body: dict[str, Any], queue: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
    }


def read_part(key: str) -> Any:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return json.loads(body)


@pytest.fixture
def answers(store_id: str) -> Iterator[Any]:
    """A queue subscribed to this store's privacy answers (every service's source)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name = f"privacy-listener-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {
        "detail-type": ["privacy.contributed", "privacy.erased", "privacy.failed"],
        "detail": {"metadata": {"store_id": [store_id]}},
    }
    events.put_rule(Name=name, EventBusName="clientela", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName="clientela", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out

    yield received
    events.remove_targets(Rule=name, EventBusName="clientela", Ids=["q"])
    events.delete_rule(Name=name, EventBusName="clientela")
    sqs.delete_queue(QueueUrl=url)
