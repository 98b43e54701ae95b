"""Where customer photos live: objects in the service's own bucket, and the `photo` attribute
of the customer item that points at one.

Keys (the store id always comes from the verified token, so no key reaches another store):
- `uploads/<store>/<customer>/<upload id>`: what a presigned POST lets the client upload; a
  lifecycle rule removes what is never confirmed;
- `photos/<store>/<customer>/<photo id>`: a verified photo (its id is the upload's).
Links to a photo are presigned GETs: computed locally, no request, so a list page costs no
more than before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.customers import keys
from chalicelib.customers.errors import VersionMismatch
from chalicelib.customers.photos import rules as photos
from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.profiles.store import CustomerStore, customer_key, photo_map
from chalicelib.customers.settings import settings
from clientela import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

UPLOAD_PREFIX = "uploads/"
PHOTO_PREFIX = "photos/"
_serializer = TypeSerializer()
logger = Logger(service="customers")


def upload_key(store_id: str, customer_id: str, upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{store_id}/{customer_id}/{upload_id}"


def photo_key(store_id: str, customer_id: str, photo_id: str) -> str:
    return f"{PHOTO_PREFIX}{store_id}/{customer_id}/{photo_id}"


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class Upload:
    """An uploaded object, read for checking (`data` is None when it is too large to read)."""

    content_type: str
    size: int
    data: bytes | None


class PhotoBucket:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def presigned_post(self, key: str, content_type: str, ttl: int) -> PresignedPost:
        """A form upload to exactly `key`, of the declared type and at most MAX_BYTES: S3
        itself refuses anything else (which a presigned PUT could not say)."""
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, photos.MAX_BYTES],
            ],
            ExpiresIn=ttl,
        )
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl)
        return PresignedPost(post["url"], dict(post["fields"]), expires_at)

    def link(self, key: str, content_type: str, ttl: int) -> str:
        """A presigned GET: computed locally from the credentials, no request is made."""
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentType": content_type},
            ExpiresIn=ttl,
        )

    def read_upload(self, key: str) -> Upload | None:
        """The upload at `key` (None if there is none), its bytes only if within MAX_BYTES."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        size = int(head["ContentLength"])
        content_type = head.get("ContentType", "")
        if size > photos.MAX_BYTES:
            return Upload(content_type, size, None)
        try:
            # The version read is the one checked: IfMatch pins the object HEAD saw.
            body = self._s3.get_object(Bucket=self._bucket, Key=key, IfMatch=head["ETag"])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "PreconditionFailed"):
                return None
            raise
        return Upload(content_type, size, body["Body"].read(photos.MAX_BYTES + 1))

    def put_photo(self, key: str, data: bytes, content_type: str) -> None:
        """Writes the bytes that were checked (a copy of the upload could be a later upload:
        a presigned POST may be used again until it expires)."""
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl="private, max-age=900",
        )

    def copy(self, source: str, key: str) -> None:
        self._s3.copy_object(
            Bucket=self._bucket, Key=key, CopySource={"Bucket": self._bucket, "Key": source}
        )

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)


def photo_bucket() -> PhotoBucket:
    return PhotoBucket(aws.s3(), settings().photos_bucket)


def discard(*keys: str) -> None:
    """Objects nothing points at any more. A failure leaves an orphan, never a broken profile."""
    bucket = photo_bucket()
    for key in keys:
        try:
            bucket.delete(key)
        except (BotoCoreError, ClientError) as error:
            logger.warning("photo object not removed", extra={"error_type": type(error).__name__})


def photo_link(customer: Customer) -> str | None:
    """A short-lived link to the customer's uploaded photo, if it has one."""
    if customer.photo is None:
        return None
    return photo_bucket().link(
        customer.photo.key, customer.photo.content_type, settings().photo_link_ttl
    )


class PhotoRecords:
    """The `photo` attribute of customer items, written on its own and conditioned on the
    version read, like every write of a customer (a concurrent edit is never overwritten)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def replace(self, old: Customer, new: Customer) -> None:
        """`new`'s photo and photo_url, if the stored customer is still at `old`'s version.

        Raises VersionMismatch; a retried write that had landed is recognised as a success.
        """
        sets = ["updated_at = :updated_at", "version = :version"]
        removes = []
        values: dict[str, Any] = {
            ":updated_at": {"S": keys.stamp(new.updated_at)},
            ":version": {"N": str(new.version)},
            ":expected": {"N": str(old.version)},
        }
        if new.photo is not None:
            sets.append("photo = :photo")
            values[":photo"] = {"M": _serialised(photo_map(new.photo))}
        else:
            removes.append("photo")
        if new.photo_url is not None:
            sets.append("photo_url = :photo_url")
            values[":photo_url"] = {"S": new.photo_url}
        else:
            removes.append("photo_url")
        expression = "SET " + ", ".join(sets)
        expression += " REMOVE " + ", ".join(removes) if removes else ""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=customer_key(new.store_id, new.id),
                UpdateExpression=expression,
                ConditionExpression="version = :expected",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = CustomerStore(self._db, self._table).get(new.store_id, new.id)
            if current is not None and (current.version, current.photo, current.photo_url) == (
                new.version,
                new.photo,
                new.photo_url,
            ):
                return
            raise VersionMismatch(current.version if current else None) from None


def _serialised(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def photo_records() -> PhotoRecords:
    return PhotoRecords(aws.dynamodb(), settings().table)
