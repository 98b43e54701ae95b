"""A DynamoDB Streams event source mapping: shard by shard, in order, with checkpoints.

As on AWS: a batch that reports failures is retried from the first failed sequence number
(records before it count as done), after a backoff that doubles from 0.2 s up to 5 s while the
same record keeps failing. With `MaximumRetryAttempts` -1 (also what an omitted setting means,
as on AWS) the shard retries until the batch succeeds and nothing after it is read meanwhile;
otherwise, after that many retries, the batch is described in a failure record sent to the
on-failure destination queue, and the shard moves on. Records older than
`MaximumRecordAgeInSeconds` (when set) are not handed to the function: they are described
there too. A shard waiting to retry counts as busy, so `Pollers.wait_idle` times out rather
than calling a stuck system quiet.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config

from clientela_local.polling import Activity, MappingSettings, Poller, Target, failed_item_ids

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType
    from mypy_boto3_dynamodbstreams.type_defs import RecordTypeDef

log = logging.getLogger(__name__)

_TABLE_IN_ARN = re.compile(r":table/([^/]+)/stream/")


def table_name(stream_arn: str) -> str:
    """`arn:...:table/<name>/stream/<label>` -> `<name>` (the app only knows a placeholder ARN)."""
    match = _TABLE_IN_ARN.search(stream_arn)
    if match is None:
        raise ValueError(f"not a DynamoDB stream ARN: {stream_arn}")
    return match.group(1)


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    pending: list[RecordTypeDef] = field(default_factory=list)
    failed_head: str | None = None  # sequence number the current retries are stuck on
    attempts: int = 0
    retry_at: float = 0.0  # time.monotonic() before which the failed batch is not retried


class StreamPoller(Poller):
    # Between two tries of a batch stuck on the same record: the first wait, doubled each time
    # up to the last. Not a sleep: the poller keeps looking at its other shards and at stop().
    RETRY_BACKOFF_FIRST_SECONDS = 0.2
    RETRY_BACKOFF_MAX_SECONDS = 5.0

    def __init__(
        self,
        target: Target,
        *,
        stream_arn: str,
        batch_size: int,
        settings: MappingSettings,
        activity: Activity,
        interval: float,
        starting_position: str = "TRIM_HORIZON",
    ) -> None:
        super().__init__(target, activity, interval)
        self.table_name = table_name(stream_arn)
        self.batch_size = batch_size
        self.settings = settings
        self.starting_position = starting_position
        self._dynamodb = boto3.client("dynamodb")
        # moto serves streams under a host the account-id endpoint mode would rewrite.
        self._streams = boto3.client(
            "dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")
        )
        self._sqs = boto3.client("sqs")
        self.stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._missing_reported = False

    def poll_once(self) -> bool:
        if self.stream_arn is None and not self._resolve_stream():
            return False
        self._discover_shards()
        worked = False
        for shard in list(self._shards.values()):
            worked = self._poll_shard(shard) or worked
        return worked

    def _resolve_stream(self) -> bool:
        try:
            table = self._dynamodb.describe_table(TableName=self.table_name)["Table"]
        except self._dynamodb.exceptions.ResourceNotFoundException:
            table = {}
        self.stream_arn = table.get("LatestStreamArn")
        if self.stream_arn is None and not self._missing_reported:
            log.error("%s: table %s has no stream", self.target.label, self.table_name)
            self._missing_reported = True
        return self.stream_arn is not None

    def _discover_shards(self) -> None:
        assert self.stream_arn is not None
        first_discovery = not self._shards
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            # The mapping's starting position applies when it starts; shards born later are
            # read from their beginning, as Lambda does.
            position = cast(
                "ShardIteratorTypeType",
                self.starting_position if first_discovery else "TRIM_HORIZON",
            )
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self._shards[shard_id] = _Shard(shard_id, iterator)

    def _poll_shard(self, shard: _Shard) -> bool:
        if shard.failed_head is not None and time.monotonic() < shard.retry_at:
            return True  # a failed batch waits out its backoff: not idle, but nothing to invoke
        if len(shard.pending) < self.batch_size and shard.iterator:
            response = self._streams.get_records(
                ShardIterator=shard.iterator, Limit=self.batch_size - len(shard.pending)
            )
            shard.pending.extend(response.get("Records", []))
            shard.iterator = response.get("NextShardIterator")
        if not shard.pending:
            return False
        batch = shard.pending[: self.batch_size]
        expired = self._expired(batch)
        if expired:  # oldest first: an expired run is always at the head of the batch
            self._give_up(shard, batch[:expired], raised=False, condition="RecordAgeExceeded")
            return True
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        result, raised = self.invoke({"Records": [self._record(r) for r in batch]})
        failed = set(sequence_numbers) if raised else self._reported_failures(result, batch)
        self.log_batch(f"stream:{self.table_name}", len(batch), len(failed))
        if not failed:
            del shard.pending[: len(batch)]
            shard.failed_head, shard.attempts = None, 0
            return True
        first = min(i for i, number in enumerate(sequence_numbers) if number in failed)
        del shard.pending[:first]  # checkpoint: records before the first failure are done
        head = sequence_numbers[first]
        shard.attempts = shard.attempts + 1 if shard.failed_head == head else 1
        shard.failed_head = head
        retries_allowed = self.settings.maximum_retry_attempts  # -1: without limit
        if 0 <= retries_allowed < shard.attempts:
            self._give_up(shard, batch[first:], raised, condition="RetryAttemptsExhausted")
        else:
            shard.retry_at = time.monotonic() + self._backoff(shard.attempts)
        return True

    def _expired(self, batch: list[RecordTypeDef]) -> int:
        """How many records at the head of `batch` are older than the mapping allows."""
        maximum_age = self.settings.maximum_record_age_seconds
        if maximum_age < 0:
            return 0
        now = _now()
        count = 0
        for record in batch:
            if (now - _created(record)).total_seconds() <= maximum_age:
                break
            count += 1
        return count

    def _backoff(self, attempts: int) -> float:
        return backoff_seconds(
            attempts, self.RETRY_BACKOFF_FIRST_SECONDS, self.RETRY_BACKOFF_MAX_SECONDS
        )

    def _reported_failures(self, result: Any, batch: list[RecordTypeDef]) -> set[str]:
        numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed = failed_item_ids(result, numbers)
        if not self.settings.report_batch_item_failures:
            return set()
        return set(numbers) if failed is None else failed

    def _give_up(
        self, shard: _Shard, records: list[RecordTypeDef], raised: bool, *, condition: str
    ) -> None:
        """Describe the records (the head of the shard's pending ones) to the on-failure
        destination and skip them: retries exhausted, or records too old to be handed over."""
        del shard.pending[: len(records)]
        attempts, shard.failed_head, shard.attempts = shard.attempts, None, 0
        queue = self.settings.on_failure_queue_name
        if queue is None:
            log.error("%s: %s, %d records dropped", self.target.label, condition, len(records))
            return
        failure = self._failure_record(shard.shard_id, records, attempts, raised, condition)
        queue_url = self._sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(failure))
        log.error(
            "%s: %s, %d records described in %s",
            self.target.label,
            condition,
            len(records),
            queue,
        )

    def _failure_record(
        self,
        shard_id: str,
        records: list[RecordTypeDef],
        attempts: int,
        raised: bool,
        condition: str,
    ) -> dict[str, Any]:
        """The message Lambda sends to an on-failure destination for a stream batch."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if raised:
            response["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.target.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(datetime.now(UTC)),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(_created(records[0])),
                "approximateArrivalOfLastRecord": _iso(_created(records[-1])),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }

    def _record(self, record: RecordTypeDef) -> dict[str, Any]:
        """One record of the event Lambda builds for a stream batch (images in DynamoDB JSON)."""
        change = record["dynamodb"]
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": int(_created(record).timestamp()),
            "SequenceNumber": change["SequenceNumber"],
            "SizeBytes": change.get("SizeBytes", 0),
            "StreamViewType": change.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
        }
        for part in ("Keys", "NewImage", "OldImage"):
            if part in change:
                dynamodb[part] = {name: _wire(value) for name, value in change[part].items()}
        event: dict[str, Any] = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion", self.target.region),
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream_arn,
        }
        if "userIdentity" in record:  # TTL deletions carry who deleted
            event["userIdentity"] = dict(record["userIdentity"])
        return event


def backoff_seconds(attempts: int, first: float, most: float) -> float:
    """The wait before trying again a batch that failed `attempts` (>= 1) times in a row."""
    return min(first * 2.0 ** min(attempts - 1, 32), most)


def _now() -> datetime:
    return datetime.now(UTC)


def _created(record: RecordTypeDef) -> datetime:
    return record["dynamodb"].get("ApproximateCreationDateTime") or _now()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _wire(value: Any) -> Any:
    """boto3's attribute value (binary as bytes) -> the JSON a Lambda event carries (base64)."""
    wired: dict[str, Any] = {}
    for kind, inner in value.items():
        if kind == "B":
            wired[kind] = base64.b64encode(inner).decode("ascii")
        elif kind == "BS":
            wired[kind] = [base64.b64encode(item).decode("ascii") for item in inner]
        elif kind == "M":
            wired[kind] = {name: _wire(item) for name, item in inner.items()}
        elif kind == "L":
            wired[kind] = [_wire(item) for item in inner]
        else:
            wired[kind] = inner
    return wired
