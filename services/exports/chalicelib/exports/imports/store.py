"""Import jobs (the exports table) and their files (the exports bucket, under `imports/`).

- The job: `pk = STORE#<store>#IMPORT#<id>`, `sk = IMPORT`: status, what was read, the counts
  of the preview and of the commit, which chunks each has heard back from (number sets: a
  redelivered answer is recognised and counted once). One key per import.
- Files, under `imports/<store>/<id>/`: `upload` (the file as uploaded), `chunks/<n>.json` (the
  rows as read, for the customers service), `issues/<n>.csv` and `moved/<n>.csv` (each chunk's
  part of the reports), `report.csv` and `moved.csv` (the reports, assembled once).

Jobs expire (table TTL `expiration`) and files are deleted (bucket lifecycle) after
RETENTION_DAYS: an upload holds personal data.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.exports.settings import settings
from clientela import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

RETENTION_DAYS = 7
PLAN = ("create", "update", "unchanged", "refused", "repeated")
_SPOOL = 8 * 1024 * 1024
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _key(store_id: str, import_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"STORE#{store_id}#IMPORT#{import_id}"}, "sk": {"S": "IMPORT"}}


def prefix(store_id: str, import_id: str) -> str:
    return f"imports/{store_id}/{import_id}/"


def upload_key(store_id: str, upload_id: str) -> str:
    """Uploads come before their import: their own place, named by the upload's id."""
    return f"imports/{store_id}/uploads/{upload_id}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    values = {k: _deserializer.deserialize(v) for k, v in item.items()}
    for name, value in list(values.items()):
        if isinstance(value, set):
            values[name] = sorted(int(v) for v in value)
        elif hasattr(value, "as_integer_ratio") and not isinstance(value, bool | float):
            values[name] = int(value)
    return values


def _failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


class ImportStore:
    def __init__(self, db: DynamoDBClient, s3: S3Client, table: str, bucket: str) -> None:
        self._db, self._s3, self._table, self._bucket = db, s3, table, bucket

    # The job ---------------------------------------------------------------------------------

    def add(self, store_id: str, import_id: str, job: dict[str, Any]) -> None:
        item = {k: _serializer.serialize(v) for k, v in job.items() if v is not None}
        expiration = int(time.time()) + RETENTION_DAYS * 86400
        self._db.put_item(
            TableName=self._table,
            Item={
                **_key(store_id, import_id),
                **item,
                "entity": {"S": "import"},
                "expiration": {"N": str(expiration)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, store_id: str, import_id: str) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self._table, Key=_key(store_id, import_id), ConsistentRead=True
        )
        item = response.get("Item")
        return _plain(item) if item else None

    def _update(
        self,
        store_id: str,
        import_id: str,
        expression: str,
        values: dict[str, Any],
        condition: str,
        *,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The job after the update, or None when the condition does not hold."""
        names = dict(names or {})
        if "#status" in expression + condition:
            names["#status"] = "status"
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=_key(store_id, import_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={k: _serializer.serialize(v) for k, v in values.items()},
                **({"ExpressionAttributeNames": names} if names else {}),  # type: ignore[arg-type]
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _failed(error):
                return None
            raise
        return _plain(response["Attributes"])

    def read(self, store_id: str, import_id: str, reading: dict[str, Any]) -> dict[str, Any] | None:
        """The file was read: what was learnt, how many rows and chunks; the preview starts."""
        sets = ", ".join(f"#{k} = :{k}" for k in reading)
        return self._update(
            store_id,
            import_id,
            f"SET #status = :previewing, {sets}",
            {
                ":previewing": "previewing",
                ":reading": "reading",
                **{f":{k}": v for k, v in reading.items()},
            },
            "#status = :reading",
            names={f"#{k}": k for k in reading},
        )

    def fail(self, store_id: str, import_id: str, reason: str) -> None:
        self._update(
            store_id,
            import_id,
            "SET #status = :failed, #error = :reason",
            {":failed": "failed", ":reason": reason, ":reading": "reading"},
            "#status = :reading",
            names={"#error": "error"},
        )

    def record_preview(
        self, store_id: str, import_id: str, chunk: int, counts: dict[str, int]
    ) -> dict[str, Any] | None:
        """Adds a chunk's counts once; None when this chunk was counted already."""
        adds = ", ".join(f"preview_{name} :{name}" for name in PLAN)
        return self._update(
            store_id,
            import_id,
            f"ADD previewed_chunks :chunk, {adds}",
            {":chunk": {chunk}, ":n": chunk, **{f":{name}": counts.get(name, 0) for name in PLAN}},
            "attribute_exists(pk) AND NOT contains(previewed_chunks, :n)",
        )

    def mark_submitted(self, store_id: str, import_id: str, chunk: int) -> None:
        """Remembers the last chunk sent, so a redelivered answer does not send the next twice."""
        self._update(
            store_id,
            import_id,
            "SET submitted = :chunk",
            {":chunk": chunk},
            "attribute_not_exists(submitted) OR submitted < :chunk",
        )

    def finish_preview(self, store_id: str, import_id: str, at: datetime) -> dict[str, Any] | None:
        return self._update(
            store_id,
            import_id,
            "SET #status = :previewed, previewed_at = :at",
            {":previewed": "previewed", ":previewing": "previewing", ":at": at.isoformat()},
            "#status = :previewing",
        )

    def start_commit(self, store_id: str, import_id: str, at: datetime) -> dict[str, Any] | None:
        return self._update(
            store_id,
            import_id,
            "SET #status = :committing, commit_requested_at = :at, commit_published = :zero",
            {
                ":committing": "committing",
                ":previewed": "previewed",
                ":at": at.isoformat(),
                ":zero": 0,
            },
            "#status = :previewed",
        )

    def mark_published(self, store_id: str, import_id: str, published: int) -> None:
        self._update(
            store_id,
            import_id,
            "SET commit_published = :n",
            {":n": published},
            "commit_published < :n",
        )

    def record_applied(
        self, store_id: str, import_id: str, chunk: int, counts: dict[str, int], moved: int
    ) -> dict[str, Any] | None:
        adds = ", ".join(f"applied_{name} :{name}" for name in PLAN)
        return self._update(
            store_id,
            import_id,
            f"ADD applied_chunks :chunk, moved :moved, {adds}",
            {
                ":chunk": {chunk},
                ":n": chunk,
                ":moved": moved,
                **{f":{name}": counts.get(name, 0) for name in PLAN},
            },
            "attribute_exists(pk) AND NOT contains(applied_chunks, :n)",
        )

    def finish_commit(self, store_id: str, import_id: str, at: datetime) -> None:
        self._update(
            store_id,
            import_id,
            "SET #status = :committed, committed_at = :at",
            {":committed": "committed", ":committing": "committing", ":at": at.isoformat()},
            "#status = :committing",
        )

    # Files -----------------------------------------------------------------------------------

    def upload_link(self, key: str, size: int, content_type: str, ttl: int) -> Link:
        """A presigned PUT bound to the key, the exact size and the type (S3 refuses others)."""
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentLength": size,
                "ContentType": content_type,
            },
            ExpiresIn=ttl,
        )
        return Link(url, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl))

    def size_of(self, key: str) -> int | None:
        try:
            return int(self._s3.head_object(Bucket=self._bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def open(self, key: str) -> IO[bytes]:
        """The object in a seekable local file (spilled to disk past a few MB): a zip needs to
        seek, and the file is read once, in blocks, whatever its size."""
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - the caller closes it
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        for block in iter(lambda: body.read(1024 * 1024), b""):
            spool.write(block)
        spool.seek(0)
        return cast(IO[bytes], spool)

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, json.dumps(value, separators=(",", ":")).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

    def get_text(self, key: str) -> str | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read().decode()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None
            raise

    def assemble(self, key: str, header: list[str], parts: Iterator[str | None]) -> None:
        """One CSV (UTF-8 with BOM, CRLF: it opens cleanly in Excel) from the parts, in order;
        a part at a time, so a report of a million rows takes no more memory than one."""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
            csv.writer(text, lineterminator="\r\n").writerow(header)
            for part in parts:
                if part:
                    text.write(part)
            text.flush()
            text.detach()  # the spool stays open for the upload
            spool.seek(0)
            self._s3.upload_fileobj(
                spool, self._bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"}
            )

    def download_link(self, key: str, filename: str, ttl: int) -> Link:
        url = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=ttl,
        )
        return Link(url, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl))


def import_store() -> ImportStore:
    return ImportStore(aws.dynamodb(), aws.s3(), settings().table, settings().bucket)
