"""Threads and their messages in DynamoDB (table `clientela-automation-mail`).

- thread: `pk=THREAD#<thread id>`, `sk=THREAD` (the store and customer it belongs to; every
  read checks the store). Listed per customer through `threads-by-customer`
  (`hpk=CUSTOMER#<store>#<customer>`, `hsk=<last activity>#<thread id>`): never store-wide.
- message: `pk=THREAD#<thread id>`, `sk=MSG#<at>#<message id>`, in the thread's partition.
- seen: `pk=INBOUND#<hash of the mail's Message-ID or object key>`, `sk=SEEN`: a redelivered
  reply is threaded once.
- message key: `pk=MSGKEY#<store>#<hash of the Idempotency-Key>`, `sk=KEY`: a retried POST
  answers the thread it made.
- dropped: `pk=INBOUND_DROPPED#<day>`, `sk=<reason>`, a counter (replies with an unknown or
  forged token, or none); and, for the drops that name a store for sure (a reply from another
  address than the thread's customer's), `pk=INBOUND_DROPPED#<store>`, `sk=<day>#<reason>`: a
  forged token names no store one could trust, so only the platform counts those.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.automation.messages.rules import Attachment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_CUSTOMER_INDEX = "threads-by-customer"
MAX_ID_CHARS = 128


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def thread_key(thread_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"THREAD#{thread_id}"}, "sk": {"S": "THREAD"}}


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class MessageStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    # Threads

    def create_thread(
        self, *, thread_id: str, store_id: str, customer_id: str, subject: str, at: datetime
    ) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                **thread_key(thread_id),
                "thread_id": {"S": thread_id},
                "store_id": {"S": store_id},
                "customer_id": {"S": customer_id},
                "subject": {"S": subject},
                "created_at": {"S": stamp(at)},
                "last_at": {"S": stamp(at)},
                "messages": {"N": "0"},
                "hpk": {"S": f"CUSTOMER#{store_id}#{customer_id}"},
                "hsk": {"S": f"{stamp(at)}#{thread_id}"},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def thread(self, thread_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=thread_key(thread_id), ConsistentRead=True
        ).get("Item")
        return _plain(item) if item else None

    def threads_of(self, store_id: str, customer_id: str, limit: int) -> list[dict[str, Any]]:
        if len(customer_id) > MAX_ID_CHARS:  # no such customer, and too long for a key
            return []
        response = self.client.query(
            TableName=self.table,
            IndexName=BY_CUSTOMER_INDEX,
            KeyConditionExpression="hpk = :p",
            ExpressionAttributeValues={":p": {"S": f"CUSTOMER#{store_id}#{customer_id}"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_plain(item) for item in response.get("Items", [])]

    def add_message(self, thread_id: str, message: dict[str, Any]) -> bool:
        """Adds the message (once: False when it is there already) and moves the thread up."""
        at = message["at"]
        item = {
            "pk": {"S": f"THREAD#{thread_id}"},
            "sk": {"S": f"MSG#{at}#{message['id']}"},
            "body": {"S": json.dumps(message, ensure_ascii=False)},
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        # The thread's position: the latest activity wins, whatever order messages land in.
        try:
            self.client.update_item(
                TableName=self.table,
                Key=thread_key(thread_id),
                UpdateExpression=(
                    "SET last_at = :at, hsk = :hsk, last_direction = :d ADD messages :one"
                ),
                ConditionExpression="last_at <= :at",
                ExpressionAttributeValues={
                    ":at": {"S": at},
                    ":hsk": {"S": f"{at}#{thread_id}"},
                    ":d": {"S": message["direction"]},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            self.client.update_item(
                TableName=self.table,
                Key=thread_key(thread_id),
                UpdateExpression="ADD messages :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        return True

    def messages_of(self, thread_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
                ExpressionAttributeValues={
                    ":p": {"S": f"THREAD#{thread_id}"},
                    ":m": {"S": "MSG#"},
                },
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),  # type: ignore[arg-type]
            )
            out.extend(json.loads(item["body"]["S"]) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return out

    # Idempotency and inbound bookkeeping

    def claim(self, key: dict[str, Any], value: dict[str, str]) -> dict[str, str] | None:
        """Writes `value` under `key` unless something is there: None, or what was there."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**key, **{k: {"S": v} for k, v in value.items()}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)
            return _plain(item.get("Item", {}))
        return None

    def release(self, key: dict[str, Any]) -> None:
        self.client.delete_item(TableName=self.table, Key=key)

    def count_dropped(self, reason: str, at: datetime, store_id: str | None = None) -> None:
        keys = [{"pk": {"S": f"INBOUND_DROPPED#{at:%Y-%m-%d}"}, "sk": {"S": reason}}]
        if store_id is not None:
            keys.append(
                {"pk": {"S": f"INBOUND_DROPPED#{store_id}"}, "sk": {"S": f"{at:%Y-%m-%d}#{reason}"}}
            )
        for key in keys:
            self.client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="ADD dropped :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    def dropped_of_store(self, store_id: str, first: date, last: date) -> dict[str, dict[str, int]]:
        """day -> reason -> replies dropped, for the store's days from `first` to `last`."""
        answer = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":p": {"S": f"INBOUND_DROPPED#{store_id}"},
                ":a": {"S": first.isoformat()},
                ":b": {"S": f"{last.isoformat()}#~"},
            },
        )
        days: dict[str, dict[str, int]] = {}
        for item in answer.get("Items", []):
            day, _, reason = item["sk"]["S"].partition("#")
            days.setdefault(day, {})[reason] = int(item["dropped"]["N"])
        return days

    def thread_page(
        self, store_id: str, customer_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of the customer's threads, latest activity first, and where the next starts."""
        if len(customer_id) > MAX_ID_CHARS:
            return [], None
        args: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_CUSTOMER_INDEX,
            "KeyConditionExpression": "hpk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"CUSTOMER#{store_id}#{customer_id}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            args["ExclusiveStartKey"] = start
        answer = self.client.query(**args)
        return [_plain(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")

    def dropped(self, day: datetime, reason: str) -> int:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"INBOUND_DROPPED#{day:%Y-%m-%d}"}, "sk": {"S": reason}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["dropped"]["N"]) if item else 0


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            out[name] = int(value["N"])
    return out


def attachments_json(attachments: list[Attachment]) -> list[dict[str, Any]]:
    return [asdict(a) for a in attachments]
