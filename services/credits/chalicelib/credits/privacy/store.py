"""What erasure changes in the credits table, beside the areas' own stores.

A wallet's items share the customer's partition (`CUSTOMER#<store>#<customer>`: balances,
lots, entries, posting keys, reversal pointers): one Query reads them all, and only the free
text a person may have typed (`note`) is removed from lots and entries; amounts, kinds, dates
and links stay, so every ledger sum is unchanged. A referrer's code item is deleted (the code
stops working) and the referrer keeps no IP. A coupon is voided by setting its
usage limit to the uses it had: the redemption's own condition (`uses < usage_limit`) then
refuses it, without a new rule in the coupons area.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.credits.coupons.store import coupon_key
from chalicelib.credits.ledger.store import customer_pk, stamp
from chalicelib.credits.referrals.store import code_key, referrer_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class PrivacyStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def wallet_items(self, store_id: str, customer_id: str) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk(store_id, customer_id)}},
            "ConsistentRead": True,
        }
        while True:
            page = self._db.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def remove_notes(self, store_id: str, customer_id: str) -> int:
        """Removes `note` from the wallet's lots and entries; how many had one."""
        removed = 0
        for item in self.wallet_items(store_id, customer_id):
            if "note" not in item:
                continue
            self._db.update_item(
                TableName=self._table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="REMOVE note",
            )
            removed += 1
        return removed

    def disable_referrer(self, store_id: str, customer_id: str, code: str, at: datetime) -> None:
        self._db.delete_item(
            TableName=self._table,
            Key=code_key(store_id, code),
            # Only the customer's own code: a code freed and taken by another stays theirs.
            ConditionExpression="attribute_not_exists(pk) OR customer_id = :id",
            ExpressionAttributeValues={":id": {"S": customer_id}},
        )
        self._db.update_item(
            TableName=self._table,
            Key=referrer_key(store_id, customer_id),
            UpdateExpression="SET disabled_at = if_not_exists(disabled_at, :at) REMOVE ip",
            ExpressionAttributeValues={":at": {"S": stamp(at)}},
        )

    def void_coupon(self, store_id: str, code: str, customer_id: str, at: datetime) -> bool:
        """No use left; False if it had none already (voided before, or used up)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=coupon_key(store_id, code),
                UpdateExpression="SET usage_limit = #uses, voided_at = :at",
                ConditionExpression="customer_id = :id AND #uses < usage_limit",
                ExpressionAttributeNames={"#uses": "uses"},
                ExpressionAttributeValues={":at": {"S": stamp(at)}, ":id": {"S": customer_id}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True
