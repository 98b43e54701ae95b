"""The first layout's items, read and re-keyed one at a time, and the job's checkpoint.

The first layout kept every item of a store under `pk=STORE#<store>`: customers
(`CUSTOMER#<id>`), e-mail reservations (`EMAIL#<address>`), tag counts (`TAG#<tag>`), orders
(`ORDER#<id>`), review markers (`REVIEW#<id>`), merge records (`MERGE#<id>`); search entries
under `STORE#<store>#SEARCH` and tag memberships under `STORE#<store>#TAG#<tag>`; the list
indexes hashed on `pk`. Segments, jobs and timelines keep their keys.

Every step can run twice: puts of derived entries and deletes of old ones are idempotent, and
the one transaction that moves a customer (or an order) writes the new item, adds it to the
counters and deletes the old item on condition of its version, so it lands once. Items written
by the move carry `migrated`: the stream consumers do not take them for new customers or
orders (no second `customer.created`, no second timeline entry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.profiles.store import EMAIL_PREFIX, CustomerStore, plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
MIGRATION_SK = "MIGRATION"
ENTITY_PREFIXES = (keys.ORDER_PREFIX, keys.REVIEW_PREFIX, keys.MERGE_PREFIX)


def old_search_pk(store_id: str) -> str:
    return keys.first_layout_search_pk(store_id)


def old_tag_pk(store_id: str, tag: str) -> str:
    return keys.first_layout_tag_pk(store_id, tag)


class MigrationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self.customers = CustomerStore(client, table)

    # The job item (`STORE#<s> / MIGRATION`) -------------------------------------------------

    def checkpoint(self, store_id: str) -> dict[str, Any]:
        item = self._db.get_item(
            TableName=self._table, Key=_job_key(store_id), ConsistentRead=True
        ).get("Item")
        return plain(item) if item else {"phase": "customers", "moved": 0, "chunk": 0}

    def exists(self, store_id: str) -> bool:
        return "Item" in self._db.get_item(
            TableName=self._table, Key=_job_key(store_id), ConsistentRead=True
        )

    def create(self, store_id: str, state: dict[str, Any]) -> bool:
        """Writes the job if the store has none; False when it has one."""
        item = {"pk": keys.store_pk(store_id), "sk": MIGRATION_SK, **state}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_wire(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def save(self, store_id: str, state: dict[str, Any], *, after_chunk: int | None = None) -> bool:
        """Writes the job's state; with `after_chunk`, only if the stored job is still at that
        chunk (a redelivered or duplicate chunk saves nothing): False then."""
        item = {"pk": keys.store_pk(store_id), "sk": MIGRATION_SK, **state}
        request: dict[str, Any] = {"TableName": self._table, "Item": _wire(item)}
        if after_chunk is not None:
            request["ConditionExpression"] = "chunk = :chunk"
            request["ExpressionAttributeValues"] = {":chunk": {"N": str(after_chunk)}}
        try:
            self._db.put_item(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # Reading the old partition -----------------------------------------------------------

    def old_items(
        self, store_id: str, prefix: str, start: Item | None, limit: int
    ) -> tuple[list[Item], Item | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.store_pk(store_id)},
                ":prefix": {"S": prefix},
            },
            "ConsistentRead": True,
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = self._db.query(**request)
        return list(answer.get("Items", [])), answer.get("LastEvaluatedKey")

    # Moving ------------------------------------------------------------------------------

    def move_customer(self, store_id: str, old: Item) -> bool:
        """CustomerStore.adopt: the same move a write to a customer not moved yet makes."""
        return self.customers.adopt(store_id, old)

    def move_entity(self, store_id: str, old: Item) -> None:
        """CustomerStore.adopt_entity: the same move reading an order not moved yet makes."""
        self.customers.adopt_entity(store_id, old)

    def sweep(self, store_id: str) -> int:
        """Deletes what is left of the first layout's lists (idempotent); how many items."""
        removed = 0
        while True:
            count, finished = self.sweep_some(store_id, 100)
            removed += count
            if finished:
                return removed

    def sweep_some(self, store_id: str, budget: int) -> tuple[int, bool]:
        """Deletes up to about `budget` leftovers of the first layout (entries a crash left
        behind a moved customer, tag counts, reservations); (how many, whether none is left).
        A tag's count goes last, once its memberships are gone: it names their partition."""
        limit = max(min(budget, 100), 1)
        entries = self._keys(old_search_pk(store_id), None, limit)
        if entries:
            return self._batch(deletes=entries), False
        counts, _ = self.old_items(store_id, keys.TAG_PREFIX, None, 1)
        if counts:
            tag = counts[0]["sk"]["S"].removeprefix(keys.TAG_PREFIX)
            members = self._keys(old_tag_pk(store_id, tag), None, limit)
            if members:
                return self._batch(deletes=members), False
            return self._batch(deletes=[{"pk": counts[0]["pk"], "sk": counts[0]["sk"]}]), False
        emails, _ = self.old_items(store_id, EMAIL_PREFIX, None, limit)
        if emails:
            return self._batch(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in emails]), False
        return 0, True

    def _keys(self, pk: str, start: Item | None, limit: int) -> list[Item]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        return list(self._db.query(**request).get("Items", []))

    def mark_queued(self, store_id: str, chunk: int) -> None:
        """Notes that the message of `chunk` was sent (a lost send is found by its absence)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_job_key(store_id),
                UpdateExpression="SET queued = :chunk",
                ConditionExpression="attribute_exists(pk) AND NOT queued > :chunk",
                ExpressionAttributeValues={":chunk": {"N": str(chunk)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # Writing -----------------------------------------------------------------------------

    def _batch(self, *, puts: list[Item] | None = None, deletes: list[Item] | None = None) -> int:
        return self.customers.batch_write(puts=puts, deletes=deletes)


def _job_key(store_id: str) -> Item:
    return {"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": MIGRATION_SK}}


def _wire(values: dict[str, Any]) -> Item:
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in values.items()}
