"""Helpers for the automation mail tests: events into the contacts read model, sent mail read
back from moto's SES."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import boto3

from clientela.events import OutgoingEvent
from clientela_events.customers import ConsentV1, CustomerCreatedV1, CustomerUpdatedV1, CustomerV1
from clientela_local.lambda_context import new_context

WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def customer(
    customer_id: str, *, version: int = 1, consent: str = "subscribed", **fields: Any
) -> CustomerV1:
    values: dict[str, Any] = {
        "id": customer_id,
        "email": f"{customer_id.lower()}@example.com",
        "first_name": "Ana",
        "last_name": "Souza",
        "language": "pt-BR",
        "country": "BR",
        "created_at": WHEN,
        "updated_at": WHEN,
        "version": version,
        "email_consent": ConsentV1(state=consent),
        **fields,
    }
    return CustomerV1(**values)


def created(store_id: str, profile: CustomerV1) -> OutgoingEvent:
    return OutgoingEvent(
        "customer.created", 1, uuid.uuid4(), store_id, WHEN, CustomerCreatedV1(customer=profile)
    )


def updated(store_id: str, old: CustomerV1, new: CustomerV1) -> OutgoingEvent:
    data = CustomerUpdatedV1(old=old, new=new, changed=[])
    return OutgoingEvent("customer.updated", 1, uuid.uuid4(), store_id, WHEN, data)


def sqs_record(event: OutgoingEvent | str, queue: str = "q") -> dict[str, Any]:
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
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
    }


def invoke(app_module: Any, handler: str, *records: dict[str, Any]) -> Any:
    context = new_context(
        "clientela-automation", handler, region="us-east-1", account="123456789012"
    )
    return getattr(app_module, handler)({"Records": list(records)}, context)


def sent_to(address: str | None) -> list[EmailMessage]:
    """The raw mails moto's SES sent to `address`, parsed, oldest first."""
    from moto.ses.models import ses_backends

    found = []
    for message in ses_backends["123456789012"]["us-east-1"].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None or address not in message.destinations:
            continue
        parsed = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@contextlib.contextmanager
def bus_listener(store_id: str, source: str = "clientela.automation") -> Iterator[Any]:
    """A queue subscribed to one store's events of `source`: what a service published."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name = f"listener-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": [source], "detail": {"metadata": {"store_id": [store_id]}}}
    events.put_rule(Name=name, EventBusName="clientela", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName="clientela", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        out = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out

    try:
        yield received
    finally:
        events.remove_targets(Rule=name, EventBusName="clientela", Ids=["q"])
        events.delete_rule(Name=name, EventBusName="clientela")
        sqs.delete_queue(QueueUrl=url)
