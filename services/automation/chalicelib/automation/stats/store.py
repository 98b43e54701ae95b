"""Flow stats and attribution in DynamoDB (the flows table).

- counters of a flow: `pk=STATS#<store>#<flow>#<0..7>`, `sk=FLOW` (entered, runs ended early
  `ended#<reason>`) and
  `sk=STEP#<step>` (sent, `skipped#<reason>`, opened, clicked, converted, `revenue#<currency>`);
  each write goes to a random one of 8 partitions, so a busy flow has no hot key; a read adds
  the 8 up.
- a message a flow sent: `pk=MSG#<store>#<message>`, `sk=MSG`: its flow and step, and whether
  its first open and click were counted.
- the customer's last touch: `pk=CUST#<store>#<customer>`, `sk=TOUCH`: the flow message they
  last opened or clicked, and when.
- an attributed order: `pk=ATTR#<store>#<order>`, `sk=ORDER` (counted once, whatever the
  redeliveries).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SHARDS = 8


def _failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


@dataclass
class Counts:
    counters: Counter[str] = field(default_factory=Counter)
    revenue: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Touch:
    flow_id: str
    step_id: str
    message_id: str
    at: datetime


class StatsStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def add(
        self,
        store_id: str,
        flow_id: str,
        step_id: str | None,
        counter: str,
        amount: Decimal = Decimal(1),
    ) -> None:
        shard = random.randrange(SHARDS)  # noqa: S311 - spreading writes, not a secret
        self._db.update_item(
            TableName=self._table,
            Key={
                "pk": {"S": f"STATS#{store_id}#{flow_id}#{shard}"},
                "sk": {"S": f"STEP#{step_id}" if step_id else "FLOW"},
            },
            UpdateExpression="ADD #c :n",
            ExpressionAttributeNames={"#c": counter},
            ExpressionAttributeValues={":n": {"N": str(amount)}},
        )

    def counts(self, store_id: str, flow_id: str) -> dict[str | None, Counts]:
        """Step id (None: the flow) -> its counters, the shards added up."""
        found: dict[str | None, Counts] = {}
        for shard in range(SHARDS):
            page = self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"STATS#{store_id}#{flow_id}#{shard}"}},
            )
            for item in page.get("Items", []):
                sk = item["sk"]["S"]
                step = None if sk == "FLOW" else sk.removeprefix("STEP#")
                counts = found.setdefault(step, Counts())
                for name, value in item.items():
                    if name in ("pk", "sk"):
                        continue
                    number = Decimal(value["N"])
                    if name.startswith("revenue#"):
                        currency = name.removeprefix("revenue#")
                        counts.revenue[currency] = counts.revenue.get(currency, Decimal(0)) + number
                    else:
                        counts.counters[name] += int(number)
        return found

    def remember_message(self, store_id: str, message_id: str, flow_id: str, step_id: str) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"MSG#{store_id}#{message_id}"},
                    "sk": {"S": "MSG"},
                    "flow_id": {"S": flow_id},
                    "step_id": {"S": step_id},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    def first(self, store_id: str, message_id: str, what: str) -> tuple[str, str] | None:
        """(flow, step) of the message the first time `what` (opened, clicked) happens to it;
        None after that, or for a message no flow sent."""
        try:
            item = self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"MSG#{store_id}#{message_id}"}, "sk": {"S": "MSG"}},
                UpdateExpression="SET #w = :yes",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#w)",
                ExpressionAttributeNames={"#w": what},
                ExpressionAttributeValues={":yes": {"BOOL": True}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _failed(exc):
                return None
            raise
        return item["flow_id"]["S"], item["step_id"]["S"]

    def message_origin(self, store_id: str, message_id: str) -> tuple[str, str] | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"MSG#{store_id}#{message_id}"}, "sk": {"S": "MSG"}},
        ).get("Item")
        return None if item is None else (item["flow_id"]["S"], item["step_id"]["S"])

    def touch(self, store_id: str, customer_id: str, touch: Touch) -> None:
        """The customer's last touch, unless a later one is held."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"CUST#{store_id}#{customer_id}"},
                    "sk": {"S": "TOUCH"},
                    "flow_id": {"S": touch.flow_id},
                    "step_id": {"S": touch.step_id},
                    "message_id": {"S": touch.message_id},
                    "at": {"S": touch.at.isoformat()},
                },
                ConditionExpression="attribute_not_exists(#at) OR #at <= :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": {"S": touch.at.isoformat()}},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise

    def last_touch(self, store_id: str, customer_id: str) -> Touch | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"CUST#{store_id}#{customer_id}"}, "sk": {"S": "TOUCH"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return Touch(
            item["flow_id"]["S"],
            item["step_id"]["S"],
            item["message_id"]["S"],
            datetime.fromisoformat(item["at"]["S"]),
        )

    def attribute_order(self, store_id: str, order_id: str, touch: Touch) -> bool:
        """Records the order's attribution once; False if it was already."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"ATTR#{store_id}#{order_id}"},
                    "sk": {"S": "ORDER"},
                    "flow_id": {"S": touch.flow_id},
                    "step_id": {"S": touch.step_id},
                    "message_id": {"S": touch.message_id},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _failed(exc):
                return False
            raise
        return True
