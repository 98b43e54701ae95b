"""Draining chosen queues synchronously, in this thread: for tests and benchmarks.

The pollers (`pollers.py`) run every mapping on threads and are waited on; a test that follows
one chain of work (an import: exports queue -> bus -> customers inbox -> bus -> ...) is clearer
and faster driving the queues itself. `Drain` receives the messages a filter accepts, invokes
each queue's handler with real SQS records (as the event source mapping does) and deletes what
succeeded; with `redeliver=True` each message is handled twice first (a crash after the work,
before the delete).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from clientela_local.lambda_context import new_context

Handler = Callable[[dict[str, Any], Any], Any]


class Drain:
    def __init__(
        self,
        handlers: dict[str, tuple[str, Handler]],
        accept: Callable[[dict[str, Any]], bool],
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        """`handlers`: queue name -> (app name, handler); `accept`: a message body (parsed)."""
        self.handlers = handlers
        self.accept = accept
        self.region, self.account = region, account
        self.sqs = boto3.client("sqs")
        self.urls = {q: self.sqs.get_queue_url(QueueName=q)["QueueUrl"] for q in handlers}
        self.delivered = 0

    def _deliver(self, queue: str, message: Mapping[str, Any], *, delete: bool) -> bool:
        app_name, handler = self.handlers[queue]
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "awsRegion": self.region,
            "eventSourceARN": f"arn:aws:sqs:{self.region}:{self.account}:{queue}",
        }
        name = getattr(handler, "__name__", "handler")
        context = new_context(app_name, name, region=self.region, account=self.account)
        response = handler({"Records": [record]}, context)
        failed = bool(response and response.get("batchItemFailures"))
        if delete and not failed:
            self.sqs.delete_message(
                QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"]
            )
        self.delivered += 1
        return not failed

    def run(self, *, redeliver: bool = False, rounds: int = 100_000) -> int:
        """Handles accepted messages until none is left; how many deliveries were made.

        Messages of other work (another test's store on a shared queue) are set aside, hidden
        until the drain ends, then given back: left visible, ten of them could hide this
        work's messages from every receive, and the drain would stop short."""
        aside: list[tuple[str, str]] = []
        try:
            for _ in range(rounds):
                received = False
                for queue, url in self.urls.items():
                    messages = self.sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
                    ).get("Messages", [])
                    for message in messages:
                        received = True
                        if not self.accept(json.loads(message["Body"])):
                            self.sqs.change_message_visibility(
                                QueueUrl=url,
                                ReceiptHandle=message["ReceiptHandle"],
                                VisibilityTimeout=600,
                            )
                            aside.append((url, message["ReceiptHandle"]))
                            continue
                        if redeliver:
                            self._deliver(queue, message, delete=False)
                        if not self._deliver(queue, message, delete=True):
                            raise RuntimeError(f"{queue}: a handler failed")
                if not received:
                    return self.delivered
            raise RuntimeError("the queues never ran dry")
        finally:
            for url, receipt in aside:
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0
                )


IMPORT_QUEUES = ("clientela-exports-imports", "clientela-customers-inbox")


def store_of(body: dict[str, Any]) -> str | None:
    """The store a message is about: an EventBridge event's envelope, or a job's own message."""
    if "detail" in body:
        return str(body["detail"].get("metadata", {}).get("store_id"))
    store = body.get("store_id")
    return str(store) if store is not None else None


def import_drain(exports: Any, customers: Any, store_id: str) -> Drain:
    """The two queues an import runs through, for one store (app modules or their handlers)."""
    return Drain(
        {
            "clientela-exports-imports": ("clientela-exports", exports.run_imports),
            "clientela-customers-inbox": ("clientela-customers", customers.on_inbound_event),
        },
        lambda body: store_of(body) == store_id,
    )
