"""Reading a table's stream from a test, as Lambda's event source mapping hands it over."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

_READ_FROM: dict[str, str] = {}  # stream shard -> the iterator where the last read stopped


def new_records(table: str) -> list[dict[str, Any]]:
    """The table stream's records this worker has not read before, in order.

    The stream holds every write of the worker's session: reading it from its start on each call
    made a test slower the later it ran. The records are as Lambda hands them to a handler: JSON
    times, and the stream's ARN as their source.
    """
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        key = f"{arn}/{shard['ShardId']}"
        iterator = (
            _READ_FROM.get(key)
            or streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
        while True:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += [dict(r) for r in page["Records"]]
            iterator = page.get("NextShardIterator", iterator)
            if not page["Records"]:
                break
        _READ_FROM[key] = iterator
    for record in records:
        when = record["dynamodb"].get("ApproximateCreationDateTime")
        if when is not None and not isinstance(when, int | float):
            record["dynamodb"]["ApproximateCreationDateTime"] = when.timestamp()
        record["eventSourceARN"] = arn
    return records
