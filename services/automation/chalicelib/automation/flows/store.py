"""Flows in DynamoDB (the flows table).

- the store's flows: `pk=FLOWS#<store>`, `sk=FLOW#<flow>`: name, state, current version and its
  definition. A store has tens of flows, written by admins, never per customer: one partition
  per store is fine (the event router reads it once per event).
- every version ever saved, immutable: `pk=FLOW#<store>#<flow>`, `sk=V#<version>`. A run reads
  the version it started with, so editing a live flow never changes a run in progress.
- the store's flow settings: `pk=FLOWS#<store>`, `sk=SETTINGS`.
- live scheduled flows, of every store: `pk=SCHEDULED_FLOWS`, `sk=<store>#<flow>`, `since`: the
  last occurrence fired (or when the flow went live or was last saved live: occurrences before
  it never fire). Written when a scheduled flow is saved live and once per occurrence fired
  (admin rate, never per customer); read by the every-minute schedule tick.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.automation.flows.rules import Definition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Flow:
    store_id: str
    flow_id: str
    name: str
    state: str
    version: int
    definition: Definition
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FlowSettings:
    """A store's sending rules for flows."""

    time_zone: str | None = None
    quiet_start: str | None = None  # HH:MM, local; none: no quiet hours
    quiet_end: str | None = None
    smart_sending_hours: int | None = None
    shop_url: str | None = None
    version: int = 0


class StaleVersion(Exception):
    def __init__(self, current: int) -> None:
        self.current = current


class FlowNotFound(Exception):
    pass


def _definition_text(definition: Definition) -> str:
    return definition.model_dump_json(by_alias=True, exclude_none=True)


def _flow(store_id: str, item: dict[str, object]) -> Flow:
    get = item.__getitem__
    return Flow(
        store_id=store_id,
        flow_id=get("flow_id")["S"],  # type: ignore[index]
        name=get("name")["S"],  # type: ignore[index]
        state=get("state")["S"],  # type: ignore[index]
        version=int(get("version")["N"]),  # type: ignore[index]
        definition=Definition.model_validate_json(get("definition")["S"]),  # type: ignore[index]
        created_at=datetime.fromisoformat(get("created_at")["S"]),  # type: ignore[index]
        updated_at=datetime.fromisoformat(get("updated_at")["S"]),  # type: ignore[index]
    )


class FlowStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def _head_key(self, store_id: str, flow_id: str) -> dict[str, dict[str, str]]:
        return {"pk": {"S": f"FLOWS#{store_id}"}, "sk": {"S": f"FLOW#{flow_id}"}}

    def _version_item(self, flow: Flow) -> dict[str, object]:
        return {
            "TableName": self._table,
            "Item": {
                "pk": {"S": f"FLOW#{flow.store_id}#{flow.flow_id}"},
                "sk": {"S": f"V#{flow.version:010d}"},
                "definition": {"S": _definition_text(flow.definition)},
                "name": {"S": flow.name},
                "saved_at": {"S": flow.updated_at.isoformat()},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _head_item(self, flow: Flow) -> dict[str, dict[str, str]]:
        return {
            **self._head_key(flow.store_id, flow.flow_id),
            "flow_id": {"S": flow.flow_id},
            "name": {"S": flow.name},
            "state": {"S": flow.state},
            "version": {"N": str(flow.version)},
            "definition": {"S": _definition_text(flow.definition)},
            "trigger_event": {"S": flow.definition.trigger.event or "-"},
            "created_at": {"S": flow.created_at.isoformat()},
            "updated_at": {"S": flow.updated_at.isoformat()},
        }

    def save(self, flow: Flow, *, expected_version: int | None) -> None:
        """Writes the flow's head and, when its definition changed, its new version, in one
        transaction. `expected_version` None: a new flow."""
        condition: dict[str, object]
        if expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        writes: list[dict[str, object]] = [
            {"Put": {"TableName": self._table, "Item": self._head_item(flow), **condition}}
        ]
        if expected_version is None or flow.version != expected_version:
            writes.append({"Put": self._version_item(flow)})
        if flow.state == "live" and flow.definition.trigger.type == "date":
            # The daily date job's list of stores to look at: written when a date flow goes
            # live (admin rate), read once per tick; never per customer.
            dated = {"pk": {"S": "DATED_STORES"}, "sk": {"S": flow.store_id}}
            writes.append({"Put": {"TableName": self._table, "Item": dated}})
        if flow.state == "live" and flow.definition.trigger.type == "schedule":
            scheduled = {
                "pk": {"S": "SCHEDULED_FLOWS"},
                "sk": {"S": f"{flow.store_id}#{flow.flow_id}"},
                "store_id": {"S": flow.store_id},
                "flow_id": {"S": flow.flow_id},
                "since": {"S": flow.updated_at.isoformat()},
            }
            writes.append({"Put": {"TableName": self._table, "Item": scheduled}})
        try:
            self._db.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            current = self.get(flow.store_id, flow.flow_id)
            if current is None:
                raise FlowNotFound from None
            raise StaleVersion(current.version) from None

    def get(self, store_id: str, flow_id: str) -> Flow | None:
        item = self._db.get_item(
            TableName=self._table, Key=self._head_key(store_id, flow_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else _flow(store_id, item)  # type: ignore[arg-type]

    def list(self, store_id: str) -> list[Flow]:
        flows: list[Flow] = []
        kwargs: dict[str, object] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :flow)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"FLOWS#{store_id}"},
                ":flow": {"S": "FLOW#"},
            },
        }
        while True:
            page = self._db.query(**kwargs)  # type: ignore[arg-type]
            flows.extend(_flow(store_id, item) for item in page.get("Items", []))  # type: ignore[arg-type]
            if "LastEvaluatedKey" not in page:
                return flows
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dated_stores(self) -> builtins.list[str]:
        """Stores that have had a live date flow."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "DATED_STORES"}},
        )
        return [item["sk"]["S"] for page in pages for item in page.get("Items", [])]

    def scheduled(self) -> builtins.list[tuple[str, str, datetime]]:
        """(store, flow, since) of every flow that has been saved live with a schedule."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "SCHEDULED_FLOWS"}},
        )
        return [
            (
                item["store_id"]["S"],
                item["flow_id"]["S"],
                datetime.fromisoformat(item["since"]["S"]),
            )
            for page in pages
            for item in page.get("Items", [])
        ]

    def fired(self, store_id: str, flow_id: str, since: datetime, occurrence: datetime) -> bool:
        """Moves the flow's `since` to the occurrence fired, if no one moved it meanwhile."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": "SCHEDULED_FLOWS"}, "sk": {"S": f"{store_id}#{flow_id}"}},
                UpdateExpression="SET since = :occurrence",
                ConditionExpression="since = :since",
                ExpressionAttributeValues={
                    ":since": {"S": since.isoformat()},
                    ":occurrence": {"S": occurrence.isoformat()},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def retire_schedule(self, store_id: str, flow_id: str, since: datetime) -> None:
        """A once-only schedule that fired leaves the list (unless saved live again since)."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"pk": {"S": "SCHEDULED_FLOWS"}, "sk": {"S": f"{store_id}#{flow_id}"}},
                ConditionExpression="since = :since",
                ExpressionAttributeValues={":since": {"S": since.isoformat()}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def version(self, store_id: str, flow_id: str, version: int) -> Definition | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"FLOW#{store_id}#{flow_id}"}, "sk": {"S": f"V#{version:010d}"}},
        ).get("Item")
        return None if item is None else Definition.model_validate_json(item["definition"]["S"])

    def get_settings(self, store_id: str) -> FlowSettings:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"FLOWS#{store_id}"}, "sk": {"S": "SETTINGS"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return FlowSettings()
        values = json.loads(item["settings"]["S"])
        return FlowSettings(**values, version=int(item["version"]["N"]))

    def put_settings(self, store_id: str, values: FlowSettings, expected_version: int) -> None:
        body = {k: v for k, v in values.__dict__.items() if k != "version"}
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"FLOWS#{store_id}"},
                    "sk": {"S": "SETTINGS"},
                    "settings": {"S": json.dumps(body)},
                    "version": {"N": str(expected_version + 1)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise StaleVersion(self.get_settings(store_id).version) from None
