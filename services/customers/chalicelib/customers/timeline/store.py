"""Timeline entries in DynamoDB: one partition per customer, `T#<at>#<entry id>` newest last.

Item: pk=`STORE#<s>#CUSTOMER#<id>`, sk=`T#<stamp(at)>#<entry id>`, entity="timeline", kind, at,
entry_id, data (map), and `expires_at` (epoch seconds, the table's TTL attribute) for entries kept
for a bounded time. The same entry always has the same key, so writing it again is harmless.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.customers.keys import (
    EMAIL_PREFIX,
    TIMELINE_PREFIX,
    customer_pk,
    customer_sk,
    entity_key,
    stamp,
)
from chalicelib.customers.timeline.rules import Kind, Seen, TimelineEntry, with_money_text
from clientela.retry import back_off

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A filtered listing reads on until its page is full, but never more than this many entries
# per request: a rare kind in a long history answers a short page with a cursor instead.
READ_BUDGET = 1000
_FILTERED_READ = 200  # entries per Query when a kind filter drops some of them
_TRANSACTION_PUTS = 99  # a transaction holds 100 actions: the customer check and 99 entries
_BATCH = 25  # BatchWriteItem's limit
_RETRIES = 5
_KNOWN_KINDS = frozenset(kind.value for kind in Kind)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class TimelineBusy(Exception):
    """Writes to the same customer kept colliding; trying again later will do."""


def sort_key(entry: TimelineEntry) -> str:
    return f"{TIMELINE_PREFIX}{stamp(entry.at)}#{entry.entry_id}"


def to_item(store_id: str, customer_id: str, entry: TimelineEntry) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "pk": customer_pk(store_id, customer_id),
        "sk": sort_key(entry),
        "entity": "timeline",
        "kind": str(entry.kind),
        "at": stamp(entry.at),
        "entry_id": entry.entry_id,
        "data": entry.data,
    }
    if entry.expires_at is not None:
        attributes["expires_at"] = entry.expires_at
    return {name: _serializer.serialize(value) for name, value in attributes.items()}


def _readable(value: Any) -> Any:
    """Stored numbers back as ints where whole (quantities), exact strings otherwise."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {name: _readable(inner) for name, inner in value.items()}
    if isinstance(value, list | set | tuple):
        return [_readable(inner) for inner in value]
    return value


def from_item(item: dict[str, Any]) -> TimelineEntry:
    data = {name: _deserializer.deserialize(value) for name, value in item.items()}
    expires_at = data.get("expires_at")
    return TimelineEntry(
        entry_id=str(data["entry_id"]),
        kind=Kind(data["kind"]),
        at=datetime.fromisoformat(str(data["at"])),
        data=_readable(with_money_text(data.get("data") or {})),
        expires_at=int(expires_at) if expires_at is not None else None,
    )


# Each activity field and the attribute holding when it was set.
_SEEN_STAMPS = {
    "last_seen_at": "last_seen_at",
    "last_device": "last_device_at",
    "last_ip": "last_ip_at",
}


def _newer(when: str, stored: str | None) -> bool:
    return stored is None or stored < when


def _seen_update(fields: Sequence[tuple[str, str | None, str]]) -> dict[str, Any]:
    """SET of the fields (value, moment), each on condition that its stored moment is older."""
    sets, conditions = [], ["attribute_exists(pk)"]
    values: dict[str, Any] = {}
    for number, (name, value, when) in enumerate(fields):
        moment = _SEEN_STAMPS[name]
        values[f":at{number}"] = {"S": when}
        sets.append(f"{moment} = :at{number}")
        if name == "last_seen_at":
            sets.append(f"last_seen_key = :at{number}")  # the index `by_last_seen`
        else:
            assert value is not None
            values[f":v{number}"] = {"S": value}
            sets.append(f"{name} = :v{number}")
        conditions.append(f"(attribute_not_exists({moment}) OR {moment} < :at{number})")
    return {
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
    }


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TimelineStore:
    """Timelines of any store's customers, always addressed through the store id."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def _customer_key(self, store_id: str, customer_id: str) -> dict[str, Any]:
        return entity_key(store_id, customer_sk(customer_id))

    # Writing

    def put(self, store_id: str, customer_id: str, entries: Sequence[TimelineEntry]) -> bool:
        """Writes the entries if the customer exists; False (nothing written) if it does not.

        Each write is a transaction with a check of the customer item, so a customer deleted
        meanwhile never gets an orphan history.
        """
        unique = list({sort_key(entry): entry for entry in entries}.values())
        for chunk in _chunks(unique, _TRANSACTION_PUTS):
            check = {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": self._customer_key(store_id, customer_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
            puts = [
                {"Put": {"TableName": self._table, "Item": to_item(store_id, customer_id, e)}}
                for e in chunk
            ]
            if not self._transact([check, *puts]):
                return False
        return True

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        """True once written; False if the first action's condition failed."""
        for attempt in range(_RETRIES):
            try:
                self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
            except ClientError as error:
                code = error.response["Error"]["Code"]
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if code == "TransactionCanceledException" and reasons[:1] == [
                    "ConditionalCheckFailed"
                ]:
                    return False
                busy = code == "TransactionConflictException" or "TransactionConflict" in reasons
                if not busy:
                    raise
                back_off(attempt)
                continue
            return True
        raise TimelineBusy

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks, resending what DynamoDB left unprocessed."""
        for chunk in _chunks(requests, _BATCH):
            pending: list[dict[str, Any]] = list(chunk)
            for attempt in range(_RETRIES):
                response: Any = self._db.batch_write_item(
                    RequestItems={self._table: pending}  # type: ignore[dict-item]
                )
                pending = list(response.get("UnprocessedItems", {}).get(self._table, []))
                if not pending:
                    break
                back_off(attempt)
            if pending:
                raise TimelineBusy

    def touch_last_seen(self, store_id: str, customer_id: str, seen: Seen) -> bool:
        """Moves `last_seen_at`, `last_device` and `last_ip` forward, each on its own, never back.

        Each field keeps its own moment (`last_seen_at`, `last_device_at`, `last_ip_at`). One
        UpdateItem sets every field given, on condition that each is newer than what is stored;
        when another write got there first, the stored moments are read and only the fields
        still newer are written. False when nothing changed (no customer, or all seen later).
        """
        fields = [
            (name, value, stamp(when))
            for name, value, when in (
                ("last_seen_at", None, seen.at),
                ("last_device", seen.device, seen.device_at or seen.at),
                ("last_ip", seen.ip, seen.ip_at or seen.at),
            )
            if name == "last_seen_at" or value is not None
        ]
        stored: dict[str, str | None] | None = None  # not read yet: assume every field moves
        for _ in range(len(fields) + _RETRIES):
            moving = [f for f in fields if stored is None or _newer(f[2], stored[f[0]])]
            if not moving:
                return False
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=self._customer_key(store_id, customer_id),
                    **_seen_update(moving),
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                stored = self._seen_moments(store_id, customer_id)
                if stored is None:
                    return False
                continue
            return True
        raise TimelineBusy

    def _seen_moments(self, store_id: str, customer_id: str) -> dict[str, str | None] | None:
        """When each activity field was last set (None: never), or None without a customer."""
        item = self._db.get_item(
            TableName=self._table,
            Key=self._customer_key(store_id, customer_id),
            ConsistentRead=True,
            ProjectionExpression="pk, " + ", ".join(_SEEN_STAMPS.values()),
        ).get("Item")
        if item is None:
            return None
        return {name: item.get(moment, {}).get("S") for name, moment in _SEEN_STAMPS.items()}

    # Reading

    def owners_of_emails(self, store_id: str, emails: Sequence[str]) -> dict[str, str]:
        """The customer id each (normalised) e-mail is reserved by; unknown ones are left out."""
        owners: dict[str, str] = {}
        for chunk in _chunks(sorted(set(emails)), 100):
            keys: list[dict[str, Any]] = [
                entity_key(store_id, EMAIL_PREFIX + email) for email in chunk
            ]
            for attempt in range(_RETRIES):
                response: Any = self._db.batch_get_item(
                    RequestItems={
                        self._table: {
                            "Keys": keys,
                            "ConsistentRead": True,
                            "ProjectionExpression": "sk, customer_id",
                        }
                    }
                )
                for item in response.get("Responses", {}).get(self._table, []):
                    email = item["sk"]["S"].removeprefix(EMAIL_PREFIX)
                    owners[email] = item["customer_id"]["S"]
                keys = list(
                    response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                )
                if not keys:
                    break
                back_off(attempt)
            if keys:
                raise TimelineBusy
        return owners

    def page(
        self,
        store_id: str,
        customer_id: str,
        *,
        kinds: frozenset[Kind] | None,
        limit: int,
        after: str | None,
        now: datetime | None = None,
    ) -> tuple[list[TimelineEntry], str | None]:
        """Up to `limit` entries, newest first, and the position to continue after (or None).

        With a kind filter, reads on until the page is full, the history ends or
        `READ_BUDGET` entries were read; in the last case the position is where reading stopped,
        so the next request carries on from there.
        """
        now = now or datetime.now(UTC)
        values: dict[str, Any] = {
            ":pk": {"S": customer_pk(store_id, customer_id)},
            ":prefix": {"S": TIMELINE_PREFIX},
            ":now": {"N": str(int(now.timestamp()))},
        }
        condition = "(attribute_not_exists(expires_at) OR expires_at > :now)"
        names: dict[str, str] = {}
        if kinds:
            placeholders = []
            for number, kind in enumerate(sorted(kinds)):
                values[f":k{number}"] = {"S": str(kind)}
                placeholders.append(f":k{number}")
            condition += f" AND #kind IN ({', '.join(placeholders)})"
            names["#kind"] = "kind"
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        found: list[tuple[str, TimelineEntry]] = []
        read = 0
        start = after
        while True:
            wanted = limit + 1 - len(found)  # one past the page: the last page says so
            if kinds:
                wanted = max(wanted, _FILTERED_READ)
            request["Limit"] = max(1, min(wanted, READ_BUDGET - read))
            if start is not None:
                request["ExclusiveStartKey"] = {
                    "pk": {"S": customer_pk(store_id, customer_id)},
                    "sk": {"S": start},
                }
            response = self._db.query(**request)
            read += int(response.get("ScannedCount", 0))
            found += [
                (item["sk"]["S"], from_item(item))
                for item in response.get("Items", [])
                if item.get("kind", {}).get("S") in _KNOWN_KINDS  # a newer writer's kind: skip
            ]
            if len(found) > limit:
                return [entry for _, entry in found[:limit]], found[limit - 1][0]
            last = response.get("LastEvaluatedKey")
            if last is None:
                return [entry for _, entry in found], None
            start = last["sk"]["S"]
            if read >= READ_BUDGET:
                return [entry for _, entry in found], start

    def _keys(self, store_id: str, customer_id: str, *, whole: bool) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": customer_pk(store_id, customer_id)},
                ":prefix": {"S": TIMELINE_PREFIX},
            },
            "ConsistentRead": True,
            "Limit": 100,
        }
        if not whole:
            request["ProjectionExpression"] = "pk, sk"
        while True:
            response = self._db.query(**request)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if last is None:
                return
            request["ExclusiveStartKey"] = last

    # Whole timelines (customer deletion, merges)

    def count(self, store_id: str, customer_id: str) -> int:
        """How many entries a customer has (keys only)."""
        return sum(1 for _ in self._keys(store_id, customer_id, whole=False))

    def delete_all(self, store_id: str, customer_id: str) -> int:
        """Deletes every entry of a customer; returns how many."""
        deleted = 0
        batch: list[dict[str, Any]] = []
        for item in self._keys(store_id, customer_id, whole=False):
            batch.append({"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}})
            if len(batch) == 100:
                self._write_batch(batch)
                deleted, batch = deleted + len(batch), []
        self._write_batch(batch)
        return deleted + len(batch)

    def move_entries(self, store_id: str, from_id: str, to_id: str) -> int:
        """Moves every entry of one customer to another (a merge); returns how many.

        Each batch is copied, then deleted from the source: a crash in between leaves copies
        that running it again rewrites (same keys), never a lost entry.
        """
        moved = 0
        target = {"S": customer_pk(store_id, to_id)}
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            self._write_batch([{"PutRequest": {"Item": {**item, "pk": target}}} for item in batch])
            self._write_batch(
                [{"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}} for item in batch]
            )

        if from_id == to_id:
            return 0
        for item in self._keys(store_id, from_id, whole=True):
            batch.append(item)
            if len(batch) == 100:
                flush()
                moved, batch = moved + len(batch), []
        flush()
        return moved + len(batch)
