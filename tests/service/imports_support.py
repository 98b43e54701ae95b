"""What the imports service tests share: the two queues an import runs through, pumped by hand.

An import goes exports -> bus -> customers inbox -> bus -> exports imports queue, and so on,
one chunk after another. `Pump` receives this store's messages from both queues and invokes
each app's handler with real SQS records, as the event source mappings do; with
`redeliver=True` every message is delivered twice (a crash after the work, before the delete).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3

from clientela_local.lambda_context import new_context

QUEUES = {
    "clientela-exports-imports": ("exports", "run_imports"),
    "clientela-customers-inbox": ("customers", "on_inbound_event"),
}


def _store_of(body: dict[str, Any]) -> str | None:
    if "detail" in body:
        return str(body["detail"].get("metadata", {}).get("store_id"))
    return body.get("store_id")


class Pump:
    def __init__(self, apps: dict[str, Any], store_id: str) -> None:
        self.apps = apps
        self.store_id = store_id
        self.sqs = boto3.client("sqs")
        self.urls = {q: self.sqs.get_queue_url(QueueName=q)["QueueUrl"] for q in QUEUES}
        self.delivered = 0

    def _deliver(self, queue: str, message: dict[str, Any], *, delete: bool) -> bool:
        service, handler = QUEUES[queue]
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        }
        context = new_context(
            f"clientela-{service}", handler, region="us-east-1", account="123456789012"
        )
        response = getattr(self.apps[service], handler)({"Records": [record]}, context)
        failed = bool(response and response.get("batchItemFailures"))
        if delete and not failed:
            self.sqs.delete_message(
                QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"]
            )
        self.delivered += 1
        return not failed

    def run(self, *, redeliver: bool = False, rounds: int = 500) -> int:
        """Delivers this store's messages until none is left; how many were delivered."""
        for _ in range(rounds):
            busy = False
            for queue, url in self.urls.items():
                messages = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
                ).get("Messages", [])
                for message in messages:
                    if _store_of(json.loads(message["Body"])) != self.store_id:
                        # Another test's: back to the queue at once.
                        self.sqs.change_message_visibility(
                            QueueUrl=url,
                            ReceiptHandle=message["ReceiptHandle"],
                            VisibilityTimeout=0,
                        )
                        continue
                    busy = True
                    if redeliver:
                        self._deliver(queue, message, delete=False)
                    assert self._deliver(queue, message, delete=True), "a handler failed"
            if not busy:
                return self.delivered
        raise AssertionError("the import never ran out of messages")


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - moto's server
        body: bytes = response.read()
    return body


def upload(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="PUT")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        status: int = response.status
    return status
