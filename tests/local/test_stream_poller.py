"""The local DynamoDB Streams event source mapping behaves like Lambda's: real stream events in
order, retries from the first failed record, and a failure record once retries run out."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.app import Chalice

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
    (tmp_path / "svc.yaml").write_text(
        json.dumps(
            {
                "Resources": {
                    "StreamDlq": {
                        "Type": "AWS::SQS::Queue",
                        "Properties": {"QueueName": "exhaust-stream-dlq"},
                    },
                    "Handle": {
                        "Properties": {
                            "Events": {
                                "Stream": {
                                    "Properties": {
                                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                        "MaximumRetryAttempts": 1,
                                        "DestinationConfig": {
                                            "OnFailure": {
                                                "Destination": {"Fn::GetAtt": ["StreamDlq", "Arn"]}
                                            }
                                        },
                                    }
                                }
                            }
                        }
                    },
                }
            }
        )
    )
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
