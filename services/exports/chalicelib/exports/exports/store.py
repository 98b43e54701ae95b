"""Export jobs (DynamoDB) and their files (S3).

Keys (the store id always comes from the verified token, so no key reaches another store):
- table: pk=`EXPORT#<store>#<job>`, sk=`JOB`: the job; the `by-store` index lists a store's
  jobs newest first (gpk=`EXPORTS#<store>`, gsk=`<requested at>#<job>`). Jobs are asked for by
  people, a few a day: one partition per store takes them, and no per-customer write.
- bucket: `exports/<store>/<job>/parts/<seq>.jsonl` (what owners write), then
  `exports/<store>/<job>/<file name>` (the files handed out). The lifecycle rule deletes both
  after 7 days; parts are deleted as soon as the file is assembled.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.exports.exports.rules import CONTENT_TYPES, Status
from chalicelib.exports.settings import settings
from clientela import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# S3 multipart parts: 5 MiB at least (but the last); 8 MiB keeps memory flat and requests few.
UPLOAD_PART_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    key: str
    name: str
    rows: int
    size: int
    sheets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    id: str
    store_id: str
    kind: str
    target: dict[str, Any]
    fields: tuple[str, ...]
    format: str
    language: str
    requested_by: str
    requested_at: datetime
    status: Status = "running"
    report: dict[str, Any] | None = None
    currency: str | None = None
    notify: str | None = None
    rows_per_part: int = 1000
    parts_done: int = 0
    rows_done: int = 0
    total: int | None = None
    reason: str | None = None
    field: str | None = None
    files: tuple[FileInfo, ...] = ()
    finished_at: datetime | None = None
    notified: bool | None = None

    def part_key(self, seq: int) -> str:
        return f"{job_prefix(self.store_id, self.id)}parts/{seq:05d}.jsonl"

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def job_prefix(store_id: str, job_id: str) -> str:
    return f"exports/{store_id}/{job_id}/"


def _pk(store_id: str, job_id: str) -> str:
    return f"EXPORT#{store_id}#{job_id}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _item(job: Job) -> dict[str, Any]:
    data = {
        "kind": job.kind,
        "target": job.target,
        "fields": list(job.fields),
        "format": job.format,
        "language": job.language,
        "requested_by": job.requested_by,
        "report": job.report,
        "currency": job.currency,
        "notify": job.notify,
        "rows_per_part": job.rows_per_part,
    }
    return {
        "pk": {"S": _pk(job.store_id, job.id)},
        "sk": {"S": "JOB"},
        "gpk": {"S": f"EXPORTS#{job.store_id}"},
        "gsk": {"S": f"{_stamp(job.requested_at)}#{job.id}"},
        "job_id": {"S": job.id},
        "store_id": {"S": job.store_id},
        "requested_at": {"S": _stamp(job.requested_at)},
        "request": {"S": json.dumps(data, sort_keys=True)},
        "status": {"S": job.status},
        "parts_done": {"N": str(job.parts_done)},
        "rows_done": {"N": str(job.rows_done)},
        "files": {"S": "[]"},
    }


def _job(item: dict[str, Any]) -> Job:
    data = json.loads(item["request"]["S"])
    files = tuple(
        FileInfo(f["key"], f["name"], f["rows"], f["size"], tuple(f.get("sheets", ())))
        for f in json.loads(item.get("files", {}).get("S", "[]"))
    )
    return Job(
        id=item["job_id"]["S"],
        store_id=item["store_id"]["S"],
        kind=data["kind"],
        target=data["target"],
        fields=tuple(data["fields"]),
        format=data["format"],
        language=data["language"],
        requested_by=data["requested_by"],
        requested_at=datetime.fromisoformat(item["requested_at"]["S"]),
        status=item["status"]["S"],
        report=data.get("report"),
        currency=data.get("currency"),
        notify=data.get("notify"),
        rows_per_part=data.get("rows_per_part", 1000),
        parts_done=int(item["parts_done"]["N"]),
        rows_done=int(item["rows_done"]["N"]),
        total=int(item["total"]["N"]) if "total" in item else None,
        reason=item["reason"]["S"] if "reason" in item else None,
        field=item["field"]["S"] if "field" in item else None,
        files=files,
        finished_at=datetime.fromisoformat(item["finished_at"]["S"])
        if "finished_at" in item
        else None,
        notified=item["notified"]["BOOL"] if "notified" in item else None,
    )


class PartOutOfOrder(Exception):
    """The part is not the next one the job waits for (a redelivery, or the job is over)."""


class JobStore:
    def __init__(self, db: DynamoDBClient | None = None, table: str | None = None) -> None:
        self._db = db or aws.dynamodb()
        self._table = table or settings().table

    def create(self, job: Job) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=_item(job),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, store_id: str, job_id: str) -> Job | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(store_id, job_id)}, "sk": {"S": "JOB"}},
            ConsistentRead=True,
        ).get("Item")
        return _job(item) if item else None

    def page(self, store_id: str, *, limit: int, after: str | None) -> tuple[list[Job], str | None]:
        """A page of the store's jobs, newest first, and the sort key to continue after."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by-store",
            "KeyConditionExpression": "gpk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"EXPORTS#{store_id}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                "gpk": {"S": f"EXPORTS#{store_id}"},
                "gsk": {"S": after},
                "pk": {"S": _pk(store_id, after.rsplit("#", 1)[-1])},
                "sk": {"S": "JOB"},
            }
        answer = self._db.query(**query)
        jobs = [_job(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return jobs, last["gsk"]["S"] if last else None

    def record_part(self, job: Job, seq: int, rows: int, total: int | None) -> Job:
        """Counts part `seq` once: only if it is the part the running job waits for."""
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":seq": {"N": str(seq)},
            ":next": {"N": str(seq + 1)},
            ":rows": {"N": str(rows)},
            ":running": {"S": "running"},
        }
        update = "SET parts_done = :next ADD rows_done :rows"
        if total is not None:
            update = "SET parts_done = :next, #t = :total ADD rows_done :rows"
            names["#t"] = "total"
            values[":total"] = {"N": str(total)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(job.store_id, job.id)}, "sk": {"S": "JOB"}},
                UpdateExpression=update,
                ConditionExpression="parts_done = :seq AND #s = :running",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise PartOutOfOrder from None
            raise
        return replace(
            job,
            parts_done=seq + 1,
            rows_done=job.rows_done + rows,
            total=total if total is not None else job.total,
        )

    def set_status(self, job: Job, status: Status, *, expected: Status) -> bool:
        """Moves the job from `expected` to `status`; False if it was not in `expected`."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(job.store_id, job.id)}, "sk": {"S": "JOB"}},
                UpdateExpression="SET #s = :status",
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":expected": {"S": expected},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish(self, job: Job, files: list[FileInfo], at: datetime) -> Job:
        encoded = [
            {"key": f.key, "name": f.name, "rows": f.rows, "size": f.size, "sheets": list(f.sheets)}
            for f in files
        ]
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(job.store_id, job.id)}, "sk": {"S": "JOB"}},
            UpdateExpression="SET #s = :done, files = :files, finished_at = :at",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":done": {"S": "done"},
                ":files": {"S": json.dumps(encoded)},
                ":at": {"S": _stamp(at)},
            },
        )
        return replace(job, status="done", files=tuple(files), finished_at=at)

    def fail(self, job: Job, reason: str, field_name: str | None, at: datetime) -> bool:
        """The job failed, and why; False if it had already finished (done or failed)."""
        values: dict[str, Any] = {
            ":failed": {"S": "failed"},
            ":reason": {"S": reason},
            ":at": {"S": _stamp(at)},
            ":done": {"S": "done"},
        }
        update = "SET #s = :failed, reason = :reason, finished_at = :at"
        if field_name:
            update += ", #f = :field"
            values[":field"] = {"S": field_name}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(job.store_id, job.id)}, "sk": {"S": "JOB"}},
                UpdateExpression=update,
                ConditionExpression="#s <> :failed AND #s <> :done",
                ExpressionAttributeNames={
                    "#s": "status",
                    **({"#f": "field"} if field_name else {}),
                },
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_notified(self, job: Job, notified: bool) -> None:
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(job.store_id, job.id)}, "sk": {"S": "JOB"}},
            UpdateExpression="SET notified = :n",
            ExpressionAttributeValues={":n": {"BOOL": notified}},
        )


# Files ---------------------------------------------------------------------------------------


class S3Upload(io.RawIOBase):
    """A file written straight into S3 as a multipart upload: memory holds one part at most.

    Closing completes the upload; `abort()` (or an error) gives it up, leaving nothing.
    """

    def __init__(self, s3: S3Client, bucket: str, key: str, content_type: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.key = key
        self._content_type = content_type
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self.size += len(view)
        if len(self._buffer) >= UPLOAD_PART_BYTES:
            self._send(bytes(self._buffer[:UPLOAD_PART_BYTES]))
            del self._buffer[:UPLOAD_PART_BYTES]
        return len(view)

    def _send(self, chunk: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self.key, ContentType=self._content_type
            )["UploadId"]
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=chunk,
        )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._upload_id is None:  # small: one request
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=self.key,
                    Body=bytes(self._buffer),
                    ContentType=self._content_type,
                )
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                self._s3.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
                )
        except Exception:
            self.abort()
            raise
        self._buffer = bytearray()
        super().close()

    def abort(self) -> None:
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self._upload_id
            )
            self._upload_id = None
        self._buffer = bytearray()
        super().close()


@dataclass
class JobFiles:
    """The files of one job in the bucket, opened one by one (CSV may need several)."""

    s3: S3Client
    bucket: str
    prefix: str
    stem: str
    extension: str
    opened: list[S3Upload] = field(default_factory=list)

    def name(self, number: int) -> str:
        return (
            f"{self.stem}.{self.extension}"
            if number == 0
            else (f"{self.stem}-{number + 1}.{self.extension}")
        )

    def open(self, number: int) -> IO[bytes]:
        upload = S3Upload(
            self.s3, self.bucket, self.prefix + self.name(number), CONTENT_TYPES[self.extension]
        )
        self.opened.append(upload)
        return io.BufferedWriter(upload, buffer_size=1024 * 1024)

    def abort(self) -> None:
        for upload in self.opened:
            if not upload.closed:
                upload.abort()


class FileStore:
    def __init__(self, s3: S3Client | None = None, bucket: str | None = None) -> None:
        self.s3 = s3 or aws.s3()
        self.bucket = bucket or settings().bucket

    def files(self, job: Job, stem: str) -> JobFiles:
        return JobFiles(self.s3, self.bucket, job_prefix(job.store_id, job.id), stem, job.format)

    def part_lines(self, key: str) -> Iterator[bytes]:
        """A part's lines, streamed (never the whole part in memory)."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        yield from body.iter_lines(chunk_size=1024 * 1024)

    def upload_file(self, path: str, key: str, content_type: str) -> int:
        """Copies a local file into S3 part by part; its size."""
        upload = S3Upload(self.s3, self.bucket, key, content_type)
        with open(path, "rb") as source:
            while chunk := source.read(UPLOAD_PART_BYTES):
                upload.write(chunk)
        upload.close()
        return upload.size

    def delete_parts(self, job: Job) -> None:
        keys = [{"Key": job.part_key(seq)} for seq in range(job.parts_done)]
        for start in range(0, len(keys), 1000):
            self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": keys[start : start + 1000], "Quiet": True},  # type: ignore[typeddict-item]
            )

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def link(self, key: str, name: str, content_type: str, ttl: int) -> str:
        """A presigned GET: computed locally from the credentials, no request is made."""
        return self.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": f'attachment; filename="{name}"',
            },
            ExpiresIn=ttl,
        )
