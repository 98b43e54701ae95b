"""Where bulk jobs live: their progress, and what they act on.

Items (pk `STORE#<store>`):
- the job: sk `JOB#<ulid>`: status, action, a description of the target (never personal data),
  counts, the first MAX_FAILURES failures, times, and where it stands: `next_chunk` (the one
  chunk message that may run next), `position` (JSON: an offset into the ids, or a search
  position) and `queued_chunk` (the last chunk whose message was sent);
- its target: sk `JOB#<ulid>#TARGET`: the ids (up to 10,000, comma separated, ~270 KB) or the
  filter, written once. Kept apart so progress updates write a small item, not 270 KB.
Both expire (table TTL `expires_at`) RETENTION_DAYS after the job was created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.customers import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_FAILURES = 100
RETENTION_DAYS = 30
TARGET_SUFFIX = "#TARGET"
FINISHED = ("succeeded", "failed")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Job:
    id: str
    store_id: str
    action: dict[str, Any]  # {"name", "tags"?, "channel"?}
    target: dict[str, Any]  # description: kind, count / segment_id, segment_name / filters
    created_at: datetime
    updated_at: datetime
    status: str = "queued"
    total: int | None = None
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    next_chunk: int = 0
    queued_chunk: int = -1
    position: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def after_chunk(
        self,
        outcomes: list[tuple[str, str, str | None]],
        position: dict[str, Any] | None,
        done: bool,
        at: datetime,
    ) -> Job:
        """The job once a chunk's outcomes (id, result, reason) are counted."""
        counts = {"updated": 0, "skipped": 0, "refused": 0}
        failures = list(self.failures)
        for customer_id, result, reason in outcomes:
            if result == "updated":
                counts["updated"] += 1
            elif result == "refused":
                counts["refused"] += 1
                if len(failures) < MAX_FAILURES:
                    failures.append({"id": customer_id, "reason": reason or "refused"})
            else:
                counts["skipped"] += 1
        processed = self.processed + len(outcomes)
        return replace(
            self,
            status="succeeded" if done else "running",
            processed=processed,
            succeeded=self.succeeded + counts["updated"],
            failed=self.failed + counts["refused"],
            skipped=self.skipped + counts["skipped"],
            failures=failures,
            total=processed if done and self.total is None else self.total,
            started_at=self.started_at or at,
            finished_at=at if done else None,
            updated_at=at,
            next_chunk=self.next_chunk + 1,
            position=None if done else position,
        )


def _key(store_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": sk}}


def job_key(store_id: str, job_id: str) -> dict[str, Any]:
    return _key(store_id, keys.JOB_PREFIX + job_id)


def target_key(store_id: str, job_id: str) -> dict[str, Any]:
    return _key(store_id, keys.JOB_PREFIX + job_id + TARGET_SUFFIX)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _plain(value: Any) -> Any:
    """DynamoDB numbers back to ints, inside maps and lists too."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value)
    return value


def _progress(job: Job) -> dict[str, Any]:
    """The attributes a chunk moves on (absent ones are removed)."""
    values: dict[str, Any] = {
        "status": job.status,
        "processed": job.processed,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "skipped": job.skipped,
        "failures": job.failures,
        "updated_at": keys.stamp(job.updated_at),
        "next_chunk": job.next_chunk,
    }
    if job.total is not None:
        values["total"] = job.total
    if job.started_at:
        values["started_at"] = keys.stamp(job.started_at)
    if job.finished_at:
        values["finished_at"] = keys.stamp(job.finished_at)
    if job.position is not None:
        values["position"] = json.dumps(job.position, separators=(",", ":"), sort_keys=True)
    return values


def from_item(item: dict[str, Any]) -> Job:
    data = _plain({k: _deserializer.deserialize(v) for k, v in item.items()})
    position = data.get("position")
    return Job(
        id=data["id"],
        store_id=data["store_id"],
        action=data["action"],
        target=data["target"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        status=data["status"],
        total=data.get("total"),
        processed=data.get("processed", 0),
        succeeded=data.get("succeeded", 0),
        failed=data.get("failed", 0),
        skipped=data.get("skipped", 0),
        failures=data.get("failures", []),
        started_at=_when(data.get("started_at")),
        finished_at=_when(data.get("finished_at")),
        error=data.get("error"),
        next_chunk=data.get("next_chunk", 0),
        queued_chunk=data.get("queued_chunk", -1),
        position=json.loads(position) if position else None,
    )


class JobStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def create(self, job: Job, target: dict[str, Any]) -> None:
        """Writes a new job and its target together."""
        expires = int((job.created_at + timedelta(days=RETENTION_DAYS)).timestamp())
        attributes = {
            "entity": "job",
            "id": job.id,
            "store_id": job.store_id,
            "action": job.action,
            "target": job.target,
            "created_at": keys.stamp(job.created_at),
            "queued_chunk": job.queued_chunk,
            "expires_at": expires,
            **_progress(job),
        }
        item = {**job_key(job.store_id, job.id), **_serialize(attributes)}
        target_item = {
            **target_key(job.store_id, job.id),
            **_serialize({"entity": "job_target", "expires_at": expires, **target}),
        }
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table, "Item": target_item}},
            ]
        )

    def get(self, store_id: str, job_id: str) -> Job | None:
        response = self._db.get_item(
            TableName=self._table, Key=job_key(store_id, job_id), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def target(self, store_id: str, job_id: str) -> dict[str, Any]:
        """What the job acts on (written before the job's first message: never missing)."""
        response = self._db.get_item(TableName=self._table, Key=target_key(store_id, job_id))
        item = response.get("Item")
        if item is None:  # an eventually consistent read may lag the write: read it strongly
            response = self._db.get_item(
                TableName=self._table, Key=target_key(store_id, job_id), ConsistentRead=True
            )
            item = response["Item"]
        return {k: _deserializer.deserialize(v) for k, v in item.items()}

    def advance(self, before: Job, after: Job) -> bool:
        """Saves a chunk's progress if that chunk is still the job's next one (False if not)."""
        values = _progress(after)
        removes = [name for name in ("position", "finished_at") if name not in values]
        names = {f"#{name}": name for name in [*values, *removes]}
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
        try:
            self._db.update_item(
                TableName=self._table,
                Key=job_key(before.store_id, before.id),
                UpdateExpression=expression,
                ConditionExpression="#next_chunk = :chunk AND #status IN (:queued, :running)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **_serialize({f":{name}": value for name, value in values.items()}),
                    ":chunk": {"N": str(before.next_chunk)},
                    ":queued": {"S": "queued"},
                    ":running": {"S": "running"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_queued(self, store_id: str, job_id: str, chunk: int) -> None:
        """Notes that the message of `chunk` was sent (never moves back)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=job_key(store_id, job_id),
                UpdateExpression="SET queued_chunk = :chunk",
                ConditionExpression="attribute_exists(pk) AND queued_chunk < :chunk",
                ExpressionAttributeValues={":chunk": {"N": str(chunk)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def fail(self, store_id: str, job_id: str, reason: str, at: datetime) -> None:
        """Ends an unfinished job as failed, saying why (no personal data in `reason`)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=job_key(store_id, job_id),
                UpdateExpression=(
                    "SET #status = :failed, #error = :error, finished_at = :at, updated_at = :at"
                ),
                ConditionExpression="#status IN (:queued, :running)",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": {"S": "failed"},
                    ":error": {"S": reason},
                    ":at": {"S": keys.stamp(at)},
                    ":queued": {"S": "queued"},
                    ":running": {"S": "running"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _serialize(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}
