"""Reading the customers table's stream, and handing its records over as Lambda does."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from bench.stack import REGION, LocalStack


class StreamReader:
    """Reads what the customers table's stream gained since the last read, shard by shard."""

    def __init__(self, stack: LocalStack, table: str) -> None:
        self._streams = stack.internal_client(
            "dynamodbstreams", account_id_endpoint_mode="disabled"
        )
        description = stack.internal_client("dynamodb").describe_table(TableName=table)["Table"]
        self.arn: str = description["LatestStreamArn"]
        self._iterators: dict[str, str] = {}

    def read(self) -> list[dict[str, Any]]:
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            iterator = (
                self._iterators.get(shard["ShardId"])
                or self._streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while iterator:
                answer = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                self._iterators[shard["ShardId"]] = iterator = answer["NextShardIterator"]
                records += answer["Records"]
                if not answer["Records"]:
                    break
        return records


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as Lambda hands it to a function (epoch seconds, binary as base64)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    change["ApproximateCreationDateTime"] = int(created.timestamp() if created else time.time())
    wire = json.loads(json.dumps(change, default=_base64))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": wire,
        "eventSourceARN": stream_arn,
    }


def _base64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()
