"""What erasure changes in the mail table, beside the areas' own stores.

- a thread and its messages (subject, bodies, addresses) are the person's: deleted whole;
- a send record keeps what flow statistics count (status, template, flow, dates) but loses
  its tie to the customer: `customer_id` becomes `erased` and the `sends-by-customer` key
  attributes go, so it leaves that index;
- suppressions stay (keyed by a hash of the address): an address that bounced or complained
  must never be mailed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.automation.messages.store import thread_key
from chalicelib.automation.sending.store import send_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ERASED = "erased"


class PrivacyStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def delete_thread(self, thread_id: str) -> int:
        """Deletes the thread's messages and the thread; how many messages it had."""
        deleted = 0
        while True:
            page = self._db.query(
                TableName=self._table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
                ExpressionAttributeValues={
                    ":p": thread_key(thread_id)["pk"],
                    ":m": {"S": "MSG#"},
                },
                ProjectionExpression="pk, sk",
            )
            items = page.get("Items", [])
            for item in items:
                self._db.delete_item(
                    TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}
                )
            deleted += len(items)
            if "LastEvaluatedKey" not in page:
                break
        self._db.delete_item(TableName=self._table, Key=thread_key(thread_id))
        return deleted

    def unlink_send(self, message_id: str) -> None:
        key: dict[str, Any] = send_key(message_id)
        self._db.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="SET customer_id = :erased REMOVE cpk, csk",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":erased": {"S": ERASED}},
        )
