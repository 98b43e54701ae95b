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

import dataclasses
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.profiles.store import (
    CUSTOMER_PREFIX,
    EMAIL_PREFIX,
    CustomerStore,
    count_changes,
    email_key,
    from_item,
    member_key,
    plain,
    profile_attributes,
    token_key,
)
from chalicelib.customers.search.rules import search_tokens

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
MIGRATION_SK = "MIGRATION"
ENTITY_PREFIXES = (keys.ORDER_PREFIX, keys.REVIEW_PREFIX, keys.MERGE_PREFIX)
# The index attributes of the first layout that now name a shard (recomputed on the move).
_INDEX_ATTRIBUTES = (
    "country_key",
    "city_key",
    "favorite_key",
    "email_consent_key",
    "sms_consent_key",
)


def old_search_pk(store_id: str) -> str:
    return f"{keys.store_pk(store_id)}#SEARCH"


def old_tag_pk(store_id: str, tag: str) -> str:
    return f"{keys.store_pk(store_id)}#{keys.TAG_PREFIX}{tag}"


class MigrationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self.customers = CustomerStore(client, table)

    # The checkpoint --------------------------------------------------------------------

    def checkpoint(self, store_id: str) -> dict[str, Any]:
        key = {"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": MIGRATION_SK}}
        item = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return plain(item) if item else {"phase": "customers", "moved": 0}

    def save(self, store_id: str, state: dict[str, Any]) -> None:
        item = {"pk": keys.store_pk(store_id), "sk": MIGRATION_SK, **state}
        self._db.put_item(TableName=self._table, Item=_wire(item))

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

    def move_customer(self, store_id: str, old: Item) -> None:
        customer = from_item(old)
        shard = keys.shard_of(customer.id, self.customers.write_shards(store_id))
        moved = dataclasses.replace(customer, shard=shard)
        new = {k: v for k, v in old.items() if k not in _INDEX_ATTRIBUTES}
        new.update(_wire(profile_attributes(moved)))
        new.update(keys.entity_key(store_id, CUSTOMER_PREFIX + customer.id))
        new.update(
            _wire(
                {
                    "shard": shard,
                    "list_key": keys.list_pk(store_id, shard),
                    "migrated": True,
                }
            )
        )
        entries: list[Item] = [
            {**token_key(store_id, token, customer.id, shard), "customer_id": {"S": customer.id}}
            for token in sorted(search_tokens(moved))
        ]
        entries += [member_key(store_id, tag, customer.id, shard) for tag in moved.tags]
        if customer.email:
            entries.append(
                {
                    **email_key(store_id, customer.email),
                    "entity": {"S": "email"},
                    "customer_id": {"S": customer.id},
                }
            )
        self._batch(puts=entries)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": new,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"pk": old["pk"], "sk": old["sk"]},
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": old["version"]},
                }
            },
        ]
        actions += self.customers.totals_updates(store_id, {shard: count_changes(None, moved)})
        if not self._transact(actions):
            return  # moved by an earlier run (or changed meanwhile: the next run reads it again)
        old_entries = [
            {"pk": {"S": old_search_pk(store_id)}, "sk": {"S": f"{token}\t{customer.id}"}}
            for token in search_tokens(customer)
        ]
        old_entries += [
            {"pk": {"S": old_tag_pk(store_id, tag)}, "sk": {"S": keys.customer_sk(customer.id)}}
            for tag in customer.tags
        ]
        if customer.email:
            old_entries.append(
                {"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": EMAIL_PREFIX + customer.email}}
            )
        self._batch(deletes=old_entries)

    def move_entity(self, store_id: str, old: Item) -> None:
        """An order, a review marker or a merge record: its own partition (orders also join
        the date index of a shard)."""
        sk = old["sk"]["S"]
        new = {**old, **keys.entity_key(store_id, sk), "migrated": {"BOOL": True}}
        if sk.startswith(keys.ORDER_PREFIX) and "placed_at" in old:
            shards = self.customers.write_shards(store_id)
            shard = keys.shard_of(sk.removeprefix(keys.ORDER_PREFIX), shards)
            new["orders_key"] = {"S": keys.list_pk(store_id, shard)}
        put = {"TableName": self._table, "Item": new}
        delete = {"TableName": self._table, "Key": {"pk": old["pk"], "sk": old["sk"]}}
        if not self._transact(
            [
                {"Put": {**put, "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Delete": delete},
            ]
        ):
            self._db.delete_item(**delete)  # type: ignore[arg-type]

    def sweep(self, store_id: str) -> int:
        """Deletes what is left of the first layout's lists (idempotent); how many items."""
        removed = 0
        tags: list[str] = []
        start: Item | None = None
        while True:
            items, start = self.old_items(store_id, keys.TAG_PREFIX, start, 100)
            tags += [item["sk"]["S"].removeprefix(keys.TAG_PREFIX) for item in items]
            removed += self._batch(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in items])
            if not start:
                break
        for prefix in (EMAIL_PREFIX,):
            while True:
                items, start = self.old_items(store_id, prefix, None, 100)
                removed += self._batch(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in items])
                if not items:
                    break
        for pk in [old_search_pk(store_id), *(old_tag_pk(store_id, tag) for tag in tags)]:
            while True:
                answer = self._db.query(
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                    ProjectionExpression="pk, sk",
                    Limit=100,
                )
                items = list(answer.get("Items", []))
                if not items:
                    break
                removed += self._batch(deletes=items)
        return removed

    # Writing -----------------------------------------------------------------------------

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        """True when it landed; False when a condition refused it (already done)."""
        try:
            self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def _batch(self, *, puts: list[Item] | None = None, deletes: list[Item] | None = None) -> int:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in puts or []]
        requests += [{"DeleteRequest": {"Key": key}} for key in deletes or []]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self._table: requests[start : start + 25]}
            while pending:
                answer = self._db.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        return len(requests)


def _wire(values: dict[str, Any]) -> Item:
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in values.items()}
