"""The local AWS server serialises DynamoDB requests, as DynamoDB's atomic writes require."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clientela_local.local_aws import SerialisedDynamoDB


class _Overlap:
    """A WSGI app that records how many requests it ever saw at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._guard = threading.Lock()

    def __call__(
        self, _environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self._guard:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self._guard:
            self.running -= 1
        start_response("200 OK", [])
        return [b"{}"]


def _send_together(app: SerialisedDynamoDB, target: str, count: int = 6) -> None:
    def one(_: int) -> list[bytes]:
        return list(app({"HTTP_X_AMZ_TARGET": target}, lambda *_: None))

    with ThreadPoolExecutor(max_workers=count) as pool:
        assert list(pool.map(one, range(count))) == [[b"{}"]] * count


@pytest.mark.parametrize(
    "target", ["DynamoDB_20120810.TransactWriteItems", "DynamoDBStreams_20120810.GetRecords"]
)
def test_dynamodb_requests_run_one_at_a_time(target: str) -> None:
    inner = _Overlap()
    _send_together(SerialisedDynamoDB(inner), target)
    assert inner.most == 1


def test_other_services_keep_running_concurrently() -> None:
    inner = _Overlap()
    _send_together(SerialisedDynamoDB(inner), "AWSEvents.PutEvents")
    assert inner.most > 1


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    import boto3

    from tests.conftest import running_moto

    with running_moto() as (endpoint, _port):
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        yield client


def _put(pk: str, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": pk}, "n": {"N": "1"}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_transaction_with_a_failed_condition_writes_nothing(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "taken"}})

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                _put("fresh"),
                _put("taken", "attribute_not_exists(pk)"),
                _put("other"),
            ]
        )

    codes = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed", "None"]
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "fresh"}})
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "other"}})


def test_a_transaction_whose_conditions_hold_writes_everything(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            _put("a", "attribute_not_exists(pk)"),
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "counter"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "5"}},
                }
            },
        ]
    )

    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"] == {"N": "5"}
