"""The store's credits settings and its cashbacks in DynamoDB (the credits table).

- settings: `pk=SETTINGS#<store>`, `sk=CREDITS`, with a `version` each write bumps;
- a cashback: under its customer, `pk=CUSTOMER#<store>#<customer>`, `sk=CASHBACK#<order>`;
  while pending it is on the ledger's `due` index under partitions of its own
  (`dpk=CASHBACK_DUE#<shard>`, `dsk=<due>#<store>#<customer>#<order>`), which the expiry job
  (`DUE#<shard>`) never reads; the attributes go once it is granted or voided;
- an order's trail: `pk=CASHBACK_ORDER#<store>#<order>`, `sk=ORDER`: its customer, whether it
  was cancelled and its refunds (`R#<refund id>`), so events arriving in any order converge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.ledger.store import customer_pk, shard, stamp
from chalicelib.credits.programmes.rules import (
    Cashback,
    PendingCashback,
    Reason,
    Status,
    StoreSettings,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUE_INDEX = "due"
DUE_SHARDS = 16


class StaleVersion(Exception):
    def __init__(self, current: int) -> None:
        self.current = current


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class OrderTrail:
    customer_id: str | None
    cancelled: bool
    refunds: dict[str, Decimal | None]


class ProgrammeStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    # Settings --------------------------------------------------------------------------------

    def get_settings(self, store_id: str) -> StoreSettings | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"SETTINGS#{store_id}"}, "sk": {"S": "CREDITS"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        c = item["cashback"]["M"]
        return StoreSettings(
            default_currency=item["default_currency"]["S"],
            expiring_lead_days=int(item["expiring_lead_days"]["N"]),
            cashback=Cashback(
                enabled=c["enabled"]["BOOL"],
                percent=Decimal(c["percent"]["S"]),
                hold_window_days=int(c["hold_window_days"]["N"]),
                expiry_days=int(c["expiry_days"]["N"]) if "expiry_days" in c else None,
                minimum_total=Decimal(c["minimum_total"]["S"]) if "minimum_total" in c else None,
            ),
            version=int(item["version"]["N"]),
            updated_at=_when(item["updated_at"]["S"]),
            credit_limit=Decimal(item["credit_limit"]["S"]) if "credit_limit" in item else None,
        )

    def put_settings(self, store_id: str, new: StoreSettings, expected: int | None) -> None:
        """Writes version `new.version`; `expected` (the version read) or None: unconditional."""
        c = new.cashback
        cashback: dict[str, Any] = {
            "enabled": {"BOOL": c.enabled},
            "percent": {"S": str(c.percent)},
            "hold_window_days": {"N": str(c.hold_window_days)},
        }
        if c.expiry_days is not None:
            cashback["expiry_days"] = {"N": str(c.expiry_days)}
        if c.minimum_total is not None:
            cashback["minimum_total"] = {"S": str(c.minimum_total)}
        assert new.updated_at is not None
        args: dict[str, Any] = {}
        if expected is not None:
            args = {
                "ConditionExpression": "attribute_not_exists(pk) OR version = :v"
                if expected == 0
                else "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected)}},
            }
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"SETTINGS#{store_id}"},
                    "sk": {"S": "CREDITS"},
                    "default_currency": {"S": new.default_currency},
                    "expiring_lead_days": {"N": str(new.expiring_lead_days)},
                    "cashback": {"M": cashback},
                    "version": {"N": str(new.version)},
                    "updated_at": {"S": stamp(new.updated_at)},
                    **(
                        {"credit_limit": {"S": str(new.credit_limit)}}
                        if new.credit_limit is not None
                        else {}
                    ),
                },
                **args,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get_settings(store_id)
            raise StaleVersion(current.version if current else 0) from None

    # Cashbacks -------------------------------------------------------------------------------

    def _item(self, c: PendingCashback) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": customer_pk(c.store_id, c.customer_id)},
            "sk": {"S": f"CASHBACK#{c.order_id}"},
            "order_id": {"S": c.order_id},
            "currency": {"S": c.currency},
            "total": {"S": str(c.total)},
            "percent": {"S": str(c.percent)},
            "amount": {"S": str(c.amount)},
            "refunded": {"S": str(c.refunded)},
            "status": {"S": c.status.value},
            "reason": {"S": c.reason.value},
            "placed_at": {"S": stamp(c.placed_at)},
            "due_at": {"S": stamp(c.due_at)},
            "updated_at": {"S": stamp(c.updated_at)},
            "version": {"N": str(c.version)},
        }
        if c.expiry_days is not None:
            item["expiry_days"] = {"N": str(c.expiry_days)}
        if c.clawed or c.uncollectable:
            item["clawed"] = {"S": str(c.clawed)}
            item["uncollectable"] = {"S": str(c.uncollectable)}
        if c.status is Status.PENDING:
            item["dpk"] = {"S": f"CASHBACK_DUE#{shard(c.customer_id) % DUE_SHARDS}"}
            item["dsk"] = {"S": f"{stamp(c.due_at)}#{c.store_id}#{c.customer_id}#{c.order_id}"}
        return item

    @classmethod
    def cashback_of(cls, item: dict[str, Any]) -> PendingCashback:
        """A cashback item as the stream shows it (`pk=CUSTOMER#<store>#<customer>`)."""
        _prefix, store_id, customer_id = item["pk"]["S"].split("#", 2)
        return cls._of(store_id, customer_id, item)

    @staticmethod
    def _of(store_id: str, customer_id: str, item: dict[str, Any]) -> PendingCashback:
        return PendingCashback(
            store_id=store_id,
            customer_id=customer_id,
            order_id=item["order_id"]["S"],
            currency=item["currency"]["S"],
            total=Decimal(item["total"]["S"]),
            percent=Decimal(item["percent"]["S"]),
            amount=Decimal(item["amount"]["S"]),
            refunded=Decimal(item["refunded"]["S"]),
            status=Status(item["status"]["S"]),
            reason=Reason(item["reason"]["S"]),
            placed_at=_when(item["placed_at"]["S"]),
            due_at=_when(item["due_at"]["S"]),
            expiry_days=int(item["expiry_days"]["N"]) if "expiry_days" in item else None,
            updated_at=_when(item["updated_at"]["S"]),
            version=int(item["version"]["N"]),
            clawed=Decimal(item["clawed"]["S"]) if "clawed" in item else Decimal(0),
            uncollectable=Decimal(item["uncollectable"]["S"])
            if "uncollectable" in item
            else Decimal(0),
        )

    def create(self, cashback: PendingCashback) -> bool:
        """False if the order already has its cashback (a redelivered order.placed)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._item(cashback),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def replace(self, cashback: PendingCashback) -> bool:
        """Writes the next version; False if it changed since it was read."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._item(cashback),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(cashback.version - 1)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def get(self, store_id: str, customer_id: str, order_id: str) -> PendingCashback | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={
                "pk": {"S": customer_pk(store_id, customer_id)},
                "sk": {"S": f"CASHBACK#{order_id}"},
            },
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else self._of(store_id, customer_id, item)

    def of_customer(self, store_id: str, customer_id: str) -> list[PendingCashback]:
        found: list[PendingCashback] = []
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {
                ":pk": {"S": customer_pk(store_id, customer_id)},
                ":p": {"S": "CASHBACK#"},
            },
        }
        while True:
            page = self._db.query(**args)
            found += [self._of(store_id, customer_id, i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def due(self, until: datetime) -> list[tuple[str, str, str]]:
        """(store, customer, order) of the pending cashbacks due by `until`, every shard."""
        found = []
        for number in range(DUE_SHARDS):
            args: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "dpk = :pk AND dsk <= :until",
                "ExpressionAttributeValues": {
                    ":pk": {"S": f"CASHBACK_DUE#{number}"},
                    ":until": {"S": f"{stamp(until)}#~"},
                },
            }
            while True:
                page = self._db.query(**args)
                for item in page.get("Items", []):
                    _due, store_id, customer_id, order_id = item["dsk"]["S"].split("#", 3)
                    found.append((store_id, customer_id, order_id))
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    # An order's trail ------------------------------------------------------------------------

    def _trail_key(self, store_id: str, order_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"CASHBACK_ORDER#{store_id}#{order_id}"}, "sk": {"S": "ORDER"}}

    def note(
        self,
        store_id: str,
        order_id: str,
        *,
        customer_id: str | None = None,
        cancelled: bool = False,
        refund: tuple[str, Decimal | None] | None = None,
    ) -> OrderTrail:
        """Adds what an event says to the order's trail and answers the trail as it is now."""
        sets: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        if customer_id is not None:
            sets.append("customer_id = :c")
            values[":c"] = {"S": customer_id}
        if cancelled:
            sets.append("cancelled = :t")
            values[":t"] = {"BOOL": True}
        if refund is not None:
            sets.append("#r = :r")
            names["#r"] = f"R#{refund[0]}"
            values[":r"] = {"S": "all" if refund[1] is None else str(refund[1])}
        args: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._trail_key(store_id, order_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            args["ExpressionAttributeNames"] = names
        item = self._db.update_item(**args)["Attributes"]
        return OrderTrail(
            customer_id=item["customer_id"]["S"] if "customer_id" in item else None,
            cancelled="cancelled" in item,
            refunds={
                name[2:]: None if value["S"] == "all" else Decimal(value["S"])
                for name, value in item.items()
                if name.startswith("R#")
            },
        )
