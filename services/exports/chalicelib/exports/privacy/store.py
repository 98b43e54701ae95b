"""Privacy requests (DynamoDB) and their files (S3).

Keys (the store id always comes from the verified token, so no key reaches another store):
- `pk=PRIVACY#<store>#<request>`, `sk=REQUEST`: the request, with each service's answer in
  the map `answers` (one entry per service, written once: a redelivered answer changes
  nothing). The `by-store` index lists a store's requests newest first
  (`gpk=PRIVACY#<store>`, `gsk=<requested at>#<request>`): requests come from people, a few a
  month, like export jobs (one partition per store takes them; no per-customer write).
- `pk=PRIVACY#<store>#CUSTOMER#<customer>`, `sk=REQUEST#<request>`: which requests concerned a
  customer (the exports service's own part: the access files it handed out). Erasure deletes
  them; the request items themselves stay, without the customer id, to prove compliance.
- bucket: `privacy/<store>/<request>/<service>.json` (each service's part), then
  `privacy/<store>/<request>/access.<json|xml|html>` (the file handed out). Parts are deleted
  once the file is written; the lifecycle rule deletes what is left under privacy/ after 30
  days.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.exports.privacy.rules import Answer, Kind, Status
from chalicelib.exports.settings import settings
from clientela import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class PrivacyRequest:
    id: str
    store_id: str
    kind: Kind
    requested_by: str
    requested_at: datetime
    customer_id: str | None  # gone once an erasure completes (customer_ref stays)
    customer_ref: str
    format: str | None = None
    status: Status = "in_progress"
    answers: dict[str, Answer] = field(default_factory=dict)
    file_key: str | None = None
    file_size: int | None = None
    finished_at: datetime | None = None
    reason: str | None = None

    @property
    def prefix(self) -> str:
        return request_prefix(self.store_id, self.id)


def request_prefix(store_id: str, request_id: str) -> str:
    return f"privacy/{store_id}/{request_id}/"


def customer_ref(store_id: str, customer_id: str) -> str:
    """What the compliance record keeps of the customer after erasure: a digest the store can
    match against an id it still has (a support ticket), from which the id cannot be read."""
    return hashlib.sha256(f"{store_id}/{customer_id}".encode()).hexdigest()[:32]


def _pk(store_id: str, request_id: str) -> str:
    return f"PRIVACY#{store_id}#{request_id}"


def _key(store_id: str, request_id: str) -> dict[str, Any]:
    return {"pk": {"S": _pk(store_id, request_id)}, "sk": {"S": "REQUEST"}}


def _pointer_key(store_id: str, customer_id: str, request_id: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"PRIVACY#{store_id}#CUSTOMER#{customer_id}"},
        "sk": {"S": f"REQUEST#{request_id}"},
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _answer_json(answer: Answer) -> str:
    data = {
        "outcome": answer.outcome,
        "at": _stamp(answer.at),
        "records": answer.records,
        "part_key": answer.part_key,
        "erased": answer.erased,
        "reason": answer.reason,
        "detail": answer.detail,
    }
    return json.dumps({k: v for k, v in data.items() if v not in (None, {})}, sort_keys=True)


def _answer_of(service: str, text: str) -> Answer:
    data = json.loads(text)
    return Answer(
        service=service,
        outcome=data["outcome"],
        at=datetime.fromisoformat(data["at"]),
        records=data.get("records"),
        part_key=data.get("part_key"),
        erased=data.get("erased", {}),
        reason=data.get("reason"),
        detail=data.get("detail"),
    )


def _opt(item: dict[str, Any], name: str) -> str | None:
    return item[name]["S"] if name in item else None


def _request(item: dict[str, Any]) -> PrivacyRequest:
    finished = _opt(item, "finished_at")
    return PrivacyRequest(
        id=item["request_id"]["S"],
        store_id=item["store_id"]["S"],
        kind=item["kind"]["S"],
        requested_by=item["requested_by"]["S"],
        requested_at=datetime.fromisoformat(item["requested_at"]["S"]),
        customer_id=_opt(item, "customer_id"),
        customer_ref=item["customer_ref"]["S"],
        format=_opt(item, "format"),
        status=item["status"]["S"],
        answers={k: _answer_of(k, v["S"]) for k, v in item.get("answers", {"M": {}})["M"].items()},
        file_key=_opt(item, "file_key"),
        file_size=int(item["file_size"]["N"]) if "file_size" in item else None,
        finished_at=datetime.fromisoformat(finished) if finished else None,
        reason=_opt(item, "reason"),
    )


class RequestStore:
    def __init__(self, db: DynamoDBClient | None = None, table: str | None = None) -> None:
        self._db = db or aws.dynamodb()
        self._table = table or settings().table

    def create(self, request: PrivacyRequest) -> None:
        assert request.customer_id is not None
        item: dict[str, Any] = {
            **_key(request.store_id, request.id),
            "entity": {"S": "privacy-request"},
            "gpk": {"S": f"PRIVACY#{request.store_id}"},
            "gsk": {"S": f"{_stamp(request.requested_at)}#{request.id}"},
            "request_id": {"S": request.id},
            "store_id": {"S": request.store_id},
            "kind": {"S": request.kind},
            "requested_by": {"S": request.requested_by},
            "requested_at": {"S": _stamp(request.requested_at)},
            "customer_id": {"S": request.customer_id},
            "customer_ref": {"S": request.customer_ref},
            "status": {"S": request.status},
            "answers": {"M": {}},
        }
        if request.format:
            item["format"] = {"S": request.format}
        pointer = {
            **_pointer_key(request.store_id, request.customer_id, request.id),
            "entity": {"S": "privacy-request-of-customer"},
            "request_id": {"S": request.id},
            "kind": {"S": request.kind},
            "requested_at": {"S": _stamp(request.requested_at)},
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
                {"Put": {"TableName": self._table, "Item": pointer}},
            ]
        )

    def discard(self, request: PrivacyRequest) -> None:
        """Undoes `create` (the request could not be sent: nothing is left half-done)."""
        assert request.customer_id is not None
        for key in (
            _key(request.store_id, request.id),
            _pointer_key(request.store_id, request.customer_id, request.id),
        ):
            self._db.delete_item(TableName=self._table, Key=key)

    def get(self, store_id: str, request_id: str) -> PrivacyRequest | None:
        item = self._db.get_item(
            TableName=self._table, Key=_key(store_id, request_id), ConsistentRead=True
        ).get("Item")
        return _request(item) if item else None

    def page(
        self, store_id: str, *, limit: int, after: str | None
    ) -> tuple[list[PrivacyRequest], str | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by-store",
            "KeyConditionExpression": "gpk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"PRIVACY#{store_id}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                "gpk": {"S": f"PRIVACY#{store_id}"},
                "gsk": {"S": after},
                **_key(store_id, after.rsplit("#", 1)[-1]),
            }
        answer = self._db.query(**query)
        found = [_request(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return found, last["gsk"]["S"] if last else None

    def record_answer(self, store_id: str, request_id: str, answer: Answer) -> bool:
        """Keeps the service's first answer; False if it had answered (or no such request)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(store_id, request_id),
                UpdateExpression="SET answers.#service = :answer",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(answers.#service)"
                ),
                ExpressionAttributeNames={"#service": answer.service},
                ExpressionAttributeValues={":answer": {"S": _answer_json(answer)}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish(
        self,
        request: PrivacyRequest,
        status: Status,
        at: datetime,
        *,
        reason: str | None = None,
        file_key: str | None = None,
        file_size: int | None = None,
    ) -> bool:
        """Completes or fails the request once (False if it was no longer in progress).

        An erasure that completes forgets the customer id: the record keeps `customer_ref`."""
        sets = ["#status = :status", "finished_at = :at"]
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":at": {"S": _stamp(at)},
            ":open": {"S": "in_progress"},
        }
        if reason is not None:
            sets.append("reason = :reason")
            values[":reason"] = {"S": reason}
        if file_key is not None and file_size is not None:
            sets += ["file_key = :key", "file_size = :size"]
            values[":key"] = {"S": file_key}
            values[":size"] = {"N": str(file_size)}
        expression = "SET " + ", ".join(sets)
        if request.kind == "erasure" and status == "completed":
            expression += " REMOVE customer_id"
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(request.store_id, request.id),
                UpdateExpression=expression,
                ConditionExpression="#status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def of_customer(self, store_id: str, customer_id: str) -> list[dict[str, str]]:
        """The requests that concerned the customer (id, kind, requested at)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"PRIVACY#{store_id}#CUSTOMER#{customer_id}"}
            },
            "ConsistentRead": True,
        }
        found: list[dict[str, str]] = []
        while True:
            page = self._db.query(**request)
            found += [
                {name: item[name]["S"] for name in ("request_id", "kind", "requested_at")}
                for item in page.get("Items", [])
            ]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def forget_customer(self, store_id: str, customer_id: str, request_ids: list[str]) -> None:
        for request_id in request_ids:
            self._db.delete_item(
                TableName=self._table, Key=_pointer_key(store_id, customer_id, request_id)
            )


class PrivacyFiles:
    def __init__(self, s3: S3Client | None = None, bucket: str | None = None) -> None:
        self.s3 = s3 or aws.s3()
        self.bucket = bucket or settings().bucket

    def read_part(self, key: str) -> Any:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return json.loads(body)

    def put(self, key: str, body: bytes, content_type: str) -> int:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )
        return len(body)

    def delete(self, keys: list[str]) -> None:
        if keys:
            self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )

    def link(self, key: str, name: str, content_type: str, ttl: int) -> str:
        """A presigned GET, computed from the credentials: no request is made."""
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
