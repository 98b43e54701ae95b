"""Wallets in DynamoDB: `pk=CUSTOMER#<store>#<customer>`, `sk=WALLET`, beside the customer's
lots and entries (`ledger.store`): a partition key per customer, never one per store.

Both writes are conditional so that events arriving twice or out of order converge: a wallet
is opened only if it never existed, and a deletion leaves a closed wallet behind (a tombstone)
that a late `customer.created` cannot reopen.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.ledger.store import customer_pk
from chalicelib.credits.wallets.rules import Wallet, WalletStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def wallet_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": customer_pk(store_id, customer_id)}, "sk": {"S": "WALLET"}}


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


class WalletStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def open(self, store_id: str, customer_id: str, at: datetime) -> bool:
        """Opens an empty wallet. False if the customer already has one (open or closed)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **wallet_key(store_id, customer_id),
                    "entity": {"S": "wallet"},
                    "customer_id": {"S": customer_id},
                    "status": {"S": WalletStatus.OPEN.value},
                    "balance": {"N": "0"},
                    "opened_at": {"S": _stamp(at)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def close(self, store_id: str, customer_id: str, at: datetime) -> None:
        """Closes the wallet, creating it closed if the deletion arrived first."""
        self._db.update_item(
            TableName=self._table,
            Key=wallet_key(store_id, customer_id),
            UpdateExpression=(
                "SET #status = :closed, closed_at = if_not_exists(closed_at, :at), "
                "customer_id = :cid, entity = :entity, balance = if_not_exists(balance, :zero)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":closed": {"S": WalletStatus.CLOSED.value},
                ":at": {"S": _stamp(at)},
                ":cid": {"S": customer_id},
                ":entity": {"S": "wallet"},
                ":zero": {"N": "0"},
            },
        )

    def get(self, store_id: str, customer_id: str) -> Wallet | None:
        item = self._db.get_item(
            TableName=self._table, Key=wallet_key(store_id, customer_id), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return Wallet(
            store_id=store_id,
            customer_id=item["customer_id"]["S"],
            status=WalletStatus(item["status"]["S"]),
            balance=Decimal(item["balance"]["N"]),
            opened_at=datetime.fromisoformat(item["opened_at"]["S"])
            if "opened_at" in item
            else None,
            closed_at=datetime.fromisoformat(item["closed_at"]["S"])
            if "closed_at" in item
            else None,
        )
