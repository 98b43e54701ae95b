"""Import items of the customers table: each chunk's plan, and who claimed each person first.

- The plan of a chunk: `pk = IMPORT#<store>#<import>`, `sk = CHUNK#<n>`, the rows as read with
  the action planned (and the customer and version matched), compressed; once applied, what was
  done. One partition per import, a handful of items per chunk: no store-wide key.
- A claim: `pk = IMPORT#<store>#<import>#<hash of the e-mail or phone>`, `sk = CLAIM`, the first
  row of the file with that person (the one that wins). One key per person.

Both expire (table TTL `expires_at`) RETENTION_DAYS after they were written.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.customers import keys
from chalicelib.customers.profiles.store import TOKEN_SEPARATOR, CustomerStore, email_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETENTION_DAYS = 14
_BATCH_GET = 100
_BATCH_WRITE = 25


@dataclass(frozen=True)
class PlannedRow:
    row: int
    action: str
    fields: dict[str, str]
    customer_id: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Plan:
    options: dict[str, Any]
    rows: list[PlannedRow]
    counts: dict[str, int]
    issues: list[dict[str, Any]]
    # Once applied: {"counts": ..., "moved": [...]}.
    applied: dict[str, Any] | None = None


def _plan_key(store_id: str, import_id: str, chunk: int) -> dict[str, Any]:
    return {"pk": {"S": f"IMPORT#{store_id}#{import_id}"}, "sk": {"S": f"CHUNK#{chunk:06d}"}}


def _claim_key(store_id: str, import_id: str, identity: str) -> dict[str, Any]:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return {"pk": {"S": f"IMPORT#{store_id}#{import_id}#{digest}"}, "sk": {"S": "CLAIM"}}


def _expires() -> dict[str, str]:
    return {"N": str(int(time.time()) + RETENTION_DAYS * 86400)}


def _pack(plan: Plan) -> bytes:
    body = {
        "options": plan.options,
        "rows": [r.__dict__ for r in plan.rows],
        "counts": plan.counts,
        "issues": plan.issues,
    }
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def _unpack(item: dict[str, Any]) -> Plan:
    body = json.loads(zlib.decompress(item["plan"]["B"]))
    applied = json.loads(item["applied"]["S"]) if "applied" in item else None
    return Plan(
        body["options"],
        [PlannedRow(**r) for r in body["rows"]],
        body["counts"],
        body["issues"],
        applied,
    )


class ImportStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table
        self._customers = CustomerStore(client, table)  # the store's shards, its migration

    def _batch_get(self, keys_: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys_), _BATCH_GET):
            pending: dict[str, Any] = {
                self._table: {"Keys": keys_[start : start + _BATCH_GET], "ConsistentRead": True}
            }
            while pending:
                response = self._db.batch_get_item(RequestItems=pending)
                found.extend(response.get("Responses", {}).get(self._table, []))
                pending = response.get("UnprocessedKeys") or {}
        return found

    def claims(self, store_id: str, import_id: str, identities: Iterable[str]) -> dict[str, int]:
        """The row that claimed each person already (in an earlier chunk, or this one before)."""
        by_pk = {_claim_key(store_id, import_id, i)["pk"]["S"]: i for i in set(identities)}
        items = self._batch_get([{"pk": {"S": pk}, "sk": {"S": "CLAIM"}} for pk in by_pk])
        return {by_pk[item["pk"]["S"]]: int(item["row"]["N"]) for item in items}

    def claim(self, store_id: str, import_id: str, rows: dict[str, int]) -> None:
        """Records the first row of each person. Chunks are planned one after another, so only a
        redelivery of the same chunk writes a claim twice, with the same row."""
        puts = [
            {
                "PutRequest": {
                    "Item": {
                        **_claim_key(store_id, import_id, identity),
                        "entity": {"S": "import_claim"},
                        "row": {"N": str(row)},
                        "expires_at": _expires(),
                    }
                }
            }
            for identity, row in rows.items()
        ]
        for start in range(0, len(puts), _BATCH_WRITE):
            pending: dict[str, Any] = {self._table: puts[start : start + _BATCH_WRITE]}
            while pending:
                response = self._db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

    def owners_of_emails(self, store_id: str, emails: Iterable[str]) -> dict[str, str]:
        """The customer holding each e-mail (the profiles' reservations, in either layout while
        the store is re-keyed), by e-mail."""
        wanted = set(emails)
        items = self._batch_get([email_key(store_id, e) for e in wanted])
        prefix = email_key(store_id, "")["sk"]["S"]
        owners = {item["sk"]["S"].removeprefix(prefix): item["customer_id"]["S"] for item in items}
        return owners | self._customers.first_layout_email_owners(store_id, wanted - set(owners))

    def owners_of_phone(self, store_id: str, phone: str) -> list[str]:
        """Customers whose search entries hold the phone's international digits (oldest first);
        the caller checks the phone itself, as a national form may share the digits. Every
        shard's entries, and the first layout's while the store is re-keyed."""
        partitions = [
            keys.search_pk(store_id, shard) for shard in range(self._customers.shards(store_id))
        ]
        if self._customers.migrating(store_id):
            partitions.append(keys.first_layout_search_pk(store_id))
        found: set[str] = set()
        for partition in partitions:
            response = self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :token)",
                ExpressionAttributeValues={
                    ":pk": {"S": partition},
                    ":token": {"S": phone.removeprefix("+") + TOKEN_SEPARATOR},
                },
                Limit=20,
            )
            found |= {item["customer_id"]["S"] for item in response.get("Items", [])}
        return sorted(found)

    def get_plan(self, store_id: str, import_id: str, chunk: int) -> Plan | None:
        response = self._db.get_item(
            TableName=self._table, Key=_plan_key(store_id, import_id, chunk), ConsistentRead=True
        )
        item = response.get("Item")
        return _unpack(item) if item else None

    def add_plan(self, store_id: str, import_id: str, chunk: int, plan: Plan) -> Plan:
        """Keeps the chunk's plan; the first one kept wins (a redelivery answers it again)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **_plan_key(store_id, import_id, chunk),
                    "entity": {"S": "import_plan"},
                    "plan": {"B": _pack(plan)},
                    "expires_at": _expires(),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            kept = self.get_plan(store_id, import_id, chunk)
            assert kept is not None
            return kept
        return plan

    def mark_applied(
        self, store_id: str, import_id: str, chunk: int, applied: dict[str, Any]
    ) -> dict[str, Any]:
        """Records what the commit did; a second attempt keeps (and answers) the first record."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_plan_key(store_id, import_id, chunk),
                UpdateExpression="SET applied = :applied",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(applied)",
                ExpressionAttributeValues={":applied": {"S": json.dumps(applied)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            kept = self.get_plan(store_id, import_id, chunk)
            if kept is not None and kept.applied is not None:
                return kept.applied
            raise
        return applied
