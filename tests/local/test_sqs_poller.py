"""The local SQS event source mapping behaves like Lambda's: real batch events, partial batch
failures, and SQS's own redrive to the dead-letter queue."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

import boto3
from chalice.app import Chalice

from tests.local.conftest import loaded_app, running


def _queue(name: str, **attributes: Any) -> str:
    return boto3.client("sqs").create_queue(QueueName=name, Attributes=cast("Any", attributes))[
        "QueueUrl"
    ]


def _counts(url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def _send(url: str, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def test_the_handler_gets_a_real_sqs_batch_event(aws, tmp_path):
    url = _queue("shape")
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    app = Chalice("shape")
    events: list[dict[str, Any]] = []
    contexts: list[Any] = []

    @app.on_sqs_message(queue="shape", batch_size=10)
    def handle(event):
        events.append(event.to_dict())
        contexts.append(event.context)

    boto3.client("sqs").send_message(
        QueueUrl=url,
        MessageBody="olá",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    (record,) = events[0]["Records"]
    assert record["body"] == "olá"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn["Attributes"]["QueueArn"]
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5("olá".encode()).hexdigest()  # noqa: S324
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"messageId", "receiptHandle", "md5OfMessageAttributes"} <= record.keys()
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "greeting",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    context = contexts[0]
    assert context.function_name == "shape-local-handle"
    assert context.invoked_function_arn.endswith(":function:shape-local-handle")
    assert context.get_remaining_time_in_millis() > 0
    assert _counts(url) == (0, 0)


def test_only_the_failed_messages_of_a_batch_stay_on_the_queue(aws, tmp_path):
    url = _queue("partial", VisibilityTimeout="60")
    app = Chalice("partial")
    seen: list[str] = []

    @app.on_sqs_message(queue="partial", batch_size=10)
    def handle(event):
        failures = []
        for record in event:
            seen.append(record.body)
            if record.body == "bad":
                failures.append({"itemIdentifier": record.to_dict()["messageId"]})
        return {"batchItemFailures": failures}

    _send(url, "ok-1", "bad", "ok-2")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert sorted(seen) == ["bad", "ok-1", "ok-2"]
    assert _counts(url) == (0, 1)  # the failed one waits out its visibility timeout


def test_a_handler_that_raises_fails_the_whole_batch(aws, tmp_path):
    url = _queue("raises", VisibilityTimeout="60")
    app = Chalice("raises")
    calls: list[int] = []

    @app.on_sqs_message(queue="raises", batch_size=10)
    def handle(event):
        calls.append(len(list(event)))
        raise RuntimeError("boom")

    _send(url, "a", "b")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert sum(calls) == 2
    assert _counts(url) == (0, 2)


def test_a_message_that_keeps_failing_moves_to_the_dead_letter_queue(aws, tmp_path):
    dlq = _queue("keeps-failing-dlq")
    dlq_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
    url = _queue("keeps-failing", VisibilityTimeout="0", RedrivePolicy=json.dumps(redrive))
    app = Chalice("keeps-failing")
    receive_counts: list[str] = []

    @app.on_sqs_message(queue="keeps-failing", batch_size=10)
    def handle(event):
        failures = []
        for record in event:
            raw = record.to_dict()
            if record.body == "bad":
                receive_counts.append(raw["attributes"]["ApproximateReceiveCount"])
                failures.append({"itemIdentifier": raw["messageId"]})
        return {"batchItemFailures": failures}

    _send(url, "ok", "bad")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert receive_counts == ["1", "2", "3"]
    assert _counts(url) == (0, 0)
    dead = boto3.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
    assert [m["Body"] for m in dead["Messages"]] == ["bad"]


def test_a_malformed_failure_report_fails_the_whole_batch(aws, tmp_path):
    url = _queue("malformed", VisibilityTimeout="60")
    app = Chalice("malformed")

    @app.on_sqs_message(queue="malformed", batch_size=10)
    def handle(event):
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    _send(url, "a", "b")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert _counts(url) == (0, 2)
