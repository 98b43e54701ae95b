"""The local DynamoDB Streams event source mapping behaves like Lambda's: real stream events in
order, retries from the first failed record (with a backoff, without limit unless the template
sets one), and a failure record once limited retries run out."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.app import Chalice

from clientela_local import stream_poller
from clientela_local.stream_poller import StreamPoller, backoff_seconds
from tests.local.conftest import loaded_app, running

PLACEHOLDER = "arn:aws:dynamodb:us-east-1:000000000000:table/{}/stream/local"


def _table(name: str) -> str:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(client.describe_table(TableName=name)["Table"]["LatestStreamArn"])


def _put(table: str, *keys: str) -> None:
    for key in keys:
        boto3.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}})


def _keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def _template(directory: Path, queue: str, **mapping: Any) -> None:
    """svc.yaml: the `handle` stream mapping with `mapping`'s settings, failures to `queue`."""
    (directory / "svc.yaml").write_text(
        json.dumps(
            {
                "Resources": {
                    "StreamDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}},
                    "Handle": {
                        "Properties": {
                            "Events": {
                                "Stream": {
                                    "Properties": {
                                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                        "DestinationConfig": {
                                            "OnFailure": {
                                                "Destination": {"Fn::GetAtt": ["StreamDlq", "Arn"]}
                                            }
                                        },
                                        **mapping,
                                    }
                                }
                            }
                        }
                    },
                }
            }
        )
    )


def test_the_handler_gets_real_stream_events_in_order(aws, tmp_path):
    stream_arn = _table("shape")
    app = Chalice("shape")
    records: list[dict[str, Any]] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("shape"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        records.extend(event.to_dict()["Records"])

    client = boto3.client("dynamodb")
    item: dict[str, Any] = {"pk": {"S": "c-1"}, "blob": {"B": b"\x00\xff"}, "n": {"N": "1"}}
    client.put_item(TableName="shape", Item=item)
    client.put_item(TableName="shape", Item={**item, "n": {"N": "2"}})
    client.delete_item(TableName="shape", Key={"pk": {"S": "c-1"}})
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers)
    insert, modify, remove = records
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream_arn
    assert insert["awsRegion"] == "us-east-1"
    assert {"eventID", "eventVersion"} <= insert.keys()
    assert insert["dynamodb"]["Keys"] == {"pk": {"S": "c-1"}}
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}  # base64, as in Lambda
    assert "OldImage" not in insert["dynamodb"]
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int)
    assert insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"]
    json.dumps(records)  # a Lambda event is plain JSON


def test_a_failed_record_is_retried_with_the_records_after_it(aws, tmp_path):
    _table("retry")
    app = Chalice("retry")
    batches: list[list[str]] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("retry"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        raw = event.to_dict()["Records"]
        batches.append(_keys(raw))
        failed = [r for r in raw if _keys([r]) == ["b"]]
        if failed and len(batches) == 1:
            return {
                "batchItemFailures": [{"itemIdentifier": failed[0]["dynamodb"]["SequenceNumber"]}]
            }
        return {"batchItemFailures": []}

    _put("retry", "a", "b", "c")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert batches == [["a", "b", "c"], ["b", "c"]]


def test_exhausted_retries_go_to_the_on_failure_destination_and_the_shard_moves_on(aws, tmp_path):
    stream_arn = _table("exhaust")
    sqs = boto3.client("sqs")
    destination = sqs.create_queue(QueueName="exhaust-stream-dlq")["QueueUrl"]
    _template(tmp_path, "exhaust-stream-dlq", MaximumRetryAttempts=1)
    app = Chalice("exhaust")
    batches: list[list[str]] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("exhaust"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        raw = event.to_dict()["Records"]
        batches.append(_keys(raw))
        failed = [r["dynamodb"]["SequenceNumber"] for r in raw if _keys([r]) == ["b"]]
        return {"batchItemFailures": [{"itemIdentifier": n} for n in failed]}

    _put("exhaust", "a", "b", "c")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)
        _put("exhaust", "d")
        pollers.wait_idle(10)

    # First try, one retry (MaximumRetryAttempts: 1), then the shard moves on to "d".
    assert batches == [["a", "b", "c"], ["b", "c"], ["d"]]
    (message,) = sqs.receive_message(QueueUrl=destination, MaxNumberOfMessages=10)["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["requestContext"]["functionArn"].endswith(":function:exhaust-local-handle")
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] < info["endSequenceNumber"]


def test_with_retries_without_limit_a_failing_record_holds_the_shard_until_it_succeeds(
    aws, tmp_path, monkeypatch
):
    monkeypatch.setattr(StreamPoller, "RETRY_BACKOFF_FIRST_SECONDS", 0.001)
    monkeypatch.setattr(StreamPoller, "RETRY_BACKOFF_MAX_SECONDS", 0.005)
    _table("forever")
    sqs = boto3.client("sqs")
    destination = sqs.create_queue(QueueName="forever-stream-dlq")["QueueUrl"]
    _template(tmp_path, "forever-stream-dlq", MaximumRetryAttempts=-1)
    app = Chalice("forever")
    batches: list[list[str]] = []
    failures = 12  # more than the 10 retries the local mapping used to stop at

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("forever"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        raw = event.to_dict()["Records"]
        batches.append(_keys(raw))
        if len(batches) <= failures:
            failed = [r["dynamodb"]["SequenceNumber"] for r in raw if _keys([r]) == ["b"]]
            return {"batchItemFailures": [{"itemIdentifier": n} for n in failed]}
        return {"batchItemFailures": []}

    _put("forever", "a", "b", "c")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        pollers.wait_idle(10)

    assert batches == [["a", "b", "c"]] + [["b", "c"]] * failures
    assert "Messages" not in sqs.receive_message(QueueUrl=destination)


def test_retries_of_the_same_batch_back_off_up_to_a_ceiling(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(StreamPoller, "RETRY_BACKOFF_FIRST_SECONDS", 0.1)
    monkeypatch.setattr(StreamPoller, "RETRY_BACKOFF_MAX_SECONDS", 0.3)
    _table("backoff")
    app = Chalice("backoff")
    tries: list[float] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("backoff"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        tries.append(time.monotonic())
        if len(tries) <= 5:
            raise RuntimeError("the bus is down")

    _put("backoff", "a")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:  # no template: -1
        pollers.wait_idle(10)

    gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert len(gaps) == 5
    for gap, wait in zip(gaps, [0.1, 0.2, 0.3, 0.3, 0.3], strict=True):
        assert gap >= wait * 0.95
    assert gaps[-1] < 1.0  # capped: doubling alone would wait 1.6 s


def test_the_backoff_doubles_from_a_fifth_of_a_second_to_five_seconds():
    first, most = StreamPoller.RETRY_BACKOFF_FIRST_SECONDS, StreamPoller.RETRY_BACKOFF_MAX_SECONDS
    assert [backoff_seconds(n, first, most) for n in range(1, 9)] == [
        0.2,
        0.4,
        0.8,
        1.6,
        3.2,
        5.0,
        5.0,
        5.0,
    ]
    assert backoff_seconds(10**6, first, most) == 5.0


def test_a_batch_waiting_to_be_retried_is_not_idle_and_does_not_delay_stop(
    aws, tmp_path, monkeypatch
):
    monkeypatch.setattr(StreamPoller, "RETRY_BACKOFF_FIRST_SECONDS", 30.0)
    _table("stuck")
    app = Chalice("stuck")
    tries: list[float] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("stuck"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        tries.append(time.monotonic())
        raise RuntimeError("the bus is down")

    _put("stuck", "a")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        with pytest.raises(TimeoutError, match=r"svc\.handle"):
            pollers.wait_idle(1.0)
        started = time.monotonic()
        pollers.stop()
        stopped_in = time.monotonic() - started

    assert len(tries) == 1  # waiting out the backoff, not spinning
    assert stopped_in < 2.0
    assert not any(poller.is_alive() for poller in pollers.pollers)


def test_records_older_than_the_maximum_age_are_described_instead_of_retried(
    aws, tmp_path, monkeypatch
):
    _table("aged")
    sqs = boto3.client("sqs")
    destination = sqs.create_queue(QueueName="aged-stream-dlq")["QueueUrl"]
    _template(tmp_path, "aged-stream-dlq", MaximumRetryAttempts=-1, MaximumRecordAgeInSeconds=3600)
    app = Chalice("aged")
    batches: list[list[str]] = []

    @app.on_dynamodb_record(
        stream_arn=PLACEHOLDER.format("aged"), batch_size=100, starting_position="TRIM_HORIZON"
    )
    def handle(event):
        batches.append(_keys(event.to_dict()["Records"]))
        raise RuntimeError("the bus is down")

    _put("aged", "a", "b")
    with running(loaded_app(app, handle), infra_dir=tmp_path) as pollers:
        with pytest.raises(TimeoutError):
            pollers.wait_idle(0.5)  # retried without limit while young
        later = stream_poller._now() + timedelta(hours=2)
        monkeypatch.setattr(stream_poller, "_now", lambda: later)
        pollers.wait_idle(10)  # too old now: given up at the next try

    assert batches and set(map(tuple, batches)) == {("a", "b")}
    (message,) = sqs.receive_message(QueueUrl=destination, MaxNumberOfMessages=10)["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
