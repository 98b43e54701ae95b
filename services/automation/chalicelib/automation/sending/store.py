"""Sends and suppressions in DynamoDB (table `clientela-automation-mail`).

- send: `pk=SEND#<message id>`, `sk=SEND`; message ids are hashes of (store, idempotency key),
  so every send has its own partition and a retry lands on the same item. Indexed for stats
  and smart sending, never under one store-wide key:
  - `sends-by-flow`: `fpk=FLOW#<store>#<flow>#<0..15>` (shard: the message id's hash),
    `fsk=<created_at>#<message id>`; only sends with a flow origin.
  - `sends-by-customer`: `cpk=CUSTOMER#<store>#<customer>`, `csk=<created_at>#<message id>`.
- SES id: `pk=SESID#<ses message id>`, `sk=SESID` -> the store and our message or thread
  (bounces, complaints and replies name SES's id).
- suppression: `pk=SUPPRESSED#<store>#<sha256 of the address>`, `sk=SUPPRESSED`; listed per
  store through the GSI `templates-by-store` (generic `tpk` / `tsk`), write-sharded as a bounce
  wave would write one partition otherwise: `tpk=SUPPRESSIONS#<store>#<0..15>` (shard: the
  address hash), `tsk=<at>#<hash>`. It keeps the address masked (`a***@example.com`), never
  whole. A lift deletes it and records why under the same partition:
  `sk=LIFTED#<at>` (reason, the suppression's reason and time).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.automation.contacts.rules import normalized_email
from chalicelib.automation.sending.rules import Origin, SendRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_FLOW_INDEX = "sends-by-flow"
BY_CUSTOMER_INDEX = "sends-by-customer"
FLOW_SHARDS = 16


class AlreadyRecorded(Exception):
    """Another attempt recorded this message first."""


def send_key(message_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SEND#{message_id}"}, "sk": {"S": "SEND"}}


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _s(value: str | None) -> dict[str, Any] | None:
    return None if value is None else {"S": value}


def _when(value: datetime | None) -> dict[str, Any] | None:
    return None if value is None else {"S": stamp(value)}


def flow_shard(message_id: str) -> int:
    return int(message_id[:4], 16) % FLOW_SHARDS


def _item(record: SendRecord) -> dict[str, Any]:
    created = stamp(record.created_at)
    item: dict[str, Any] = {
        **send_key(record.message_id),
        "message_id": {"S": record.message_id},
        "store_id": {"S": record.store_id},
        "customer_id": {"S": record.customer_id},
        "marketing": {"BOOL": record.marketing},
        "origin": {"S": json.dumps(asdict(record.origin))},
        "status": {"S": record.status},
        "created_at": {"S": created},
        "cpk": {"S": f"CUSTOMER#{record.store_id}#{record.customer_id}"},
        "csk": {"S": f"{created}#{record.message_id}"},
        "template_id": _s(record.template_id),
        "reason": _s(record.reason),
        "detail": _s(record.detail),
        "language": _s(record.language),
        "claimed_at": _when(record.claimed_at),
    }
    if record.origin.flow_id:
        shard = flow_shard(record.message_id)
        item["fpk"] = {"S": f"FLOW#{record.store_id}#{record.origin.flow_id}#{shard}"}
        item["fsk"] = {"S": f"{created}#{record.message_id}"}
    return {name: value for name, value in item.items() if value is not None}


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    value = item.get(name, {}).get("S")
    return datetime.fromisoformat(value) if value else None


def _record(item: dict[str, Any]) -> SendRecord:
    text = {name: value["S"] for name, value in item.items() if "S" in value}
    created = _instant(item, "created_at")
    assert created is not None
    return SendRecord(
        message_id=text["message_id"],
        store_id=text["store_id"],
        customer_id=text["customer_id"],
        template_id=text.get("template_id"),
        marketing=bool(item["marketing"]["BOOL"]),
        origin=Origin(**json.loads(text["origin"])),
        status=text["status"],
        created_at=created,
        reason=text.get("reason"),
        detail=text.get("detail"),
        language=text.get("language"),
        sent_at=_instant(item, "sent_at"),
        ses_message_id=text.get("ses_message_id"),
        opened_at=_instant(item, "opened_at"),
        clicked_at=_instant(item, "clicked_at"),
        claimed_at=_instant(item, "claimed_at"),
    )


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class SendStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, message_id: str) -> SendRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key=send_key(message_id), ConsistentRead=True
        ).get("Item")
        return _record(item) if item else None

    def create(self, record: SendRecord) -> None:
        """Records a skip or claims a send; AlreadyRecorded if the message exists."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item(record),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise AlreadyRecorded from None
            raise

    def take_over(self, record: SendRecord, *, stale_before: datetime) -> None:
        """Claims a message whose earlier claim failed or went stale (AlreadyRecorded if not)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item(record),
                ConditionExpression="#s = :failed OR (#s = :sending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":failed": {"S": "failed"},
                    ":sending": {"S": "sending"},
                    ":stale": {"S": stamp(stale_before)},
                },
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise AlreadyRecorded from None
            raise

    def mark(self, message_id: str, status: str, **fields: str | datetime) -> None:
        names = {"#s": "status", **{f"#{k}": k for k in fields}}
        values = {":s": {"S": status}}
        for name, value in fields.items():
            values[f":{name}"] = {"S": stamp(value) if isinstance(value, datetime) else value}
        sets = ", ".join(["#s = :s", *(f"#{k} = :{k}" for k in fields)])
        self.client.update_item(
            TableName=self.table,
            Key=send_key(message_id),
            UpdateExpression=f"SET {sets}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def note_engagement(self, message_id: str, kind: str, at: datetime) -> bool:
        """The first open (or click) of a message; True the first time only."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=send_key(message_id),
                UpdateExpression=f"SET {kind}_at = :at ADD {kind}s :one",
                ConditionExpression=f"attribute_exists(pk) AND attribute_not_exists({kind}_at)",
                ExpressionAttributeValues={":at": {"S": stamp(at)}, ":one": {"N": "1"}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            self.client.update_item(
                TableName=self.table,
                Key=send_key(message_id),
                UpdateExpression=f"ADD {kind}s :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            return False
        return True

    def of_flow(self, store_id: str, flow_id: str) -> Iterator[SendRecord]:
        """Every send and skip of a flow, shard by shard (stats read them)."""
        for shard in range(FLOW_SHARDS):
            yield from self._query(
                BY_FLOW_INDEX, "fpk", f"FLOW#{store_id}#{flow_id}#{shard}", forward=True
            )

    def of_customer(self, store_id: str, customer_id: str) -> Iterator[SendRecord]:
        """A customer's sends, newest first."""
        yield from self._query(
            BY_CUSTOMER_INDEX, "cpk", f"CUSTOMER#{store_id}#{customer_id}", forward=False
        )

    def _query(self, index: str, key: str, value: str, *, forward: bool) -> Iterator[SendRecord]:
        start: dict[str, Any] | None = None
        while True:
            response = self.client.query(
                TableName=self.table,
                IndexName=index,
                KeyConditionExpression=f"{key} = :v",
                ExpressionAttributeValues={":v": {"S": value}},
                ScanIndexForward=forward,
                **({"ExclusiveStartKey": start} if start else {}),  # type: ignore[arg-type]
            )
            for item in response.get("Items", []):
                yield _record(item)
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    # SES ids: bounces, complaints and replies name the message by SES's id.

    def remember_ses_id(self, ses_message_id: str, store_id: str, **refs: str) -> None:
        item = {
            "pk": {"S": f"SESID#{ses_message_id}"},
            "sk": {"S": "SESID"},
            "store_id": {"S": store_id},
            **{name: {"S": value} for name, value in refs.items()},
        }
        self.client.put_item(TableName=self.table, Item=item)

    def by_ses_id(self, ses_message_id: str) -> dict[str, str] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"SESID#{ses_message_id}"}, "sk": {"S": "SESID"}},
        ).get("Item")
        if item is None:
            return None
        return {name: value["S"] for name, value in item.items() if "S" in value}


def suppression_key(store_id: str, address: str) -> dict[str, Any]:
    digest = address_id(address)
    return {"pk": {"S": f"SUPPRESSED#{store_id}#{digest}"}, "sk": {"S": "SUPPRESSED"}}


SUPPRESSION_SHARDS = 16
BY_STORE_INDEX = "templates-by-store"


def address_id(address: str) -> str:
    """The id a suppression is listed and lifted by: a hash, so no URL carries the address."""
    return hashlib.sha256(normalized_email(address).encode()).hexdigest()[:40]


def masked(address: str) -> str:
    """Enough of an address for staff to recognise it, not enough to read it."""
    local, _, domain = normalized_email(address).partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class Suppression:
    id: str
    masked_address: str | None
    reason: str
    at: datetime


class SuppressionStore:
    """Addresses a store must not mail again (hard bounce, complaint). Keyed by a hash of the
    address: the table does not hold the address itself."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def suppress(self, store_id: str, address: str, reason: str, at: datetime) -> None:
        digest = address_id(address)
        shard = int(digest[:8], 16) % SUPPRESSION_SHARDS
        self.client.put_item(
            TableName=self.table,
            Item={
                **suppression_key(store_id, address),
                "reason": {"S": reason},
                "at": {"S": stamp(at)},
                "masked": {"S": masked(address)},
                "tpk": {"S": f"SUPPRESSIONS#{store_id}#{shard}"},
                "tsk": {"S": f"{stamp(at)}#{digest}"},
            },
        )

    def page(
        self, store_id: str, limit: int, position: dict[str, Any] | None
    ) -> tuple[list[Suppression], dict[str, Any] | None]:
        """Up to `limit` suppressions, shard after shard, newest first within each; the position
        to go on from (None at the end)."""
        shard = int(position["shard"]) if position else 0
        start = position.get("key") if position else None
        found: list[Suppression] = []
        while shard < SUPPRESSION_SHARDS:
            args: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_STORE_INDEX,
                "KeyConditionExpression": "tpk = :p",
                "ExpressionAttributeValues": {":p": {"S": f"SUPPRESSIONS#{store_id}#{shard}"}},
                "ScanIndexForward": False,
                "Limit": limit - len(found),
            }
            if start:
                args["ExclusiveStartKey"] = start
            answer = self.client.query(**args)
            found += [_suppression(item) for item in answer.get("Items", [])]
            start = answer.get("LastEvaluatedKey")
            if len(found) >= limit:
                if start:
                    return found, {"shard": shard, "key": start}
                return found, ({"shard": shard + 1} if shard + 1 < SUPPRESSION_SHARDS else None)
            if not start:
                shard += 1
        return found, None

    def lift(self, store_id: str, digest: str, reason: str, at: datetime) -> bool:
        """Deletes the suppression and records why; False when there is none."""
        key = {"pk": {"S": f"SUPPRESSED#{store_id}#{digest}"}, "sk": {"S": "SUPPRESSED"}}
        try:
            old = self.client.delete_item(
                TableName=self.table,
                Key=key,
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": key["pk"],
                "sk": {"S": f"LIFTED#{stamp(at)}"},
                "reason": {"S": reason},
                "suppressed_for": old["reason"],
                "suppressed_at": old["at"],
            },
        )
        return True

    def lifts(self, store_id: str, digest: str) -> list[dict[str, str]]:
        """The lifts of an address's suppressions, oldest first (support, tests)."""
        answer = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :l)",
            ExpressionAttributeValues={
                ":p": {"S": f"SUPPRESSED#{store_id}#{digest}"},
                ":l": {"S": "LIFTED#"},
            },
        )
        return [
            {name: value["S"] for name, value in item.items() if "S" in value}
            for item in answer.get("Items", [])
        ]

    def reason(self, store_id: str, address: str) -> str | None:
        item = self.client.get_item(
            TableName=self.table, Key=suppression_key(store_id, address), ConsistentRead=True
        ).get("Item")
        return item["reason"]["S"] if item else None


def _suppression(item: dict[str, Any]) -> Suppression:
    return Suppression(
        id=item["tsk"]["S"].rpartition("#")[2],
        masked_address=item.get("masked", {}).get("S"),
        reason=item["reason"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
    )
