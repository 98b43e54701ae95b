"""Tombstones in the customers table: one item per digest, in a partition of its own.

`pk=STORE#<store>#ERASED#<digest>`, `sk=TOMBSTONE`: every check and every write of a tombstone
touches only its own key, so no store-wide partition heats up when an import of a million rows
checks each of them. The item holds the digest, when and by which request it was written
(the request id is no personal data); nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.customers import keys
from chalicelib.customers.orders.rules import Order
from chalicelib.customers.orders.store import order_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TOMBSTONE_SK = "TOMBSTONE"


def tombstone_key(store_id: str, digest: str) -> dict[str, Any]:
    return {"pk": {"S": f"{keys.store_pk(store_id)}#ERASED#{digest}"}, "sk": {"S": TOMBSTONE_SK}}


class TombstoneStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def add(self, store_id: str, digests: list[str], *, request_id: str, at: datetime) -> None:
        """Writes each tombstone unless it exists (a redelivery keeps the first request's)."""
        for value in digests:
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        **tombstone_key(store_id, value),
                        "entity": {"S": "tombstone"},
                        "request_id": {"S": request_id},
                        "erased_at": {"S": keys.stamp(at)},
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except self._db.exceptions.ConditionalCheckFailedException:
                continue

    def any_present(self, store_id: str, digests: list[str]) -> bool:
        if not digests:
            return False
        pending: dict[str, Any] = {
            self._table: {
                "Keys": [tombstone_key(store_id, value) for value in digests],
                "ConsistentRead": True,
                "ProjectionExpression": "pk",
            }
        }
        while pending:
            response = self._db.batch_get_item(RequestItems=pending)
            if response.get("Responses", {}).get(self._table):
                return True
            pending = response.get("UnprocessedKeys") or {}
        return False


def anonymise_order(
    client: DynamoDBClient, table: str, store_id: str, order: Order, label: str
) -> bool:
    """Rewrites the order with `label` for its e-mail, if it is still as read (False if not).

    The whole item is written (`order_item`), so the reports' copy of the order changes too;
    totals, dates, status and refunds stay as they are. A cancellation or refund landing
    meanwhile fails the condition: the next redelivery reads the order again.
    """
    try:
        client.put_item(
            TableName=table,
            Item=order_item(store_id, replace(order, email=label)),
            ConditionExpression=(
                "customer_id = :owner AND #status = :status AND refunded_total = :refunded"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":owner": {"S": order.customer_id or ""},
                ":status": {"S": order.status},
                ":refunded": {"N": str(order.refunded_total)},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
