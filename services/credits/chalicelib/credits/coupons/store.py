"""Coupons in DynamoDB (table `clientela-credits`), one partition per coupon and per order.

- coupon: `pk=COUPON#<store>#<code>`, `sk=COUPON`; `uses` counts live redemptions. Listed per
  customer through the GSI `coupons-by-customer` (`coupon_customer=COUPON_CUSTOMER#<store>#
  <customer>`, `coupon_created=<created_at>#<code>`): a store's busiest customers never share a
  partition, and neither do its coupons.
- redemption: `pk=COUPON_ORDER#<store>#<order>`, `sk=COUPON#<code>`: found by order alone
  (`order.cancelled` reverts every coupon of the order) and by order and code (the API).

A redemption is one transaction: the coupon's `uses` goes up only while below `usage_limit`
(and while the coupon is the customer's and unexpired), and the redemption is written only if
the order has none live for that code. Two concurrent redemptions of a single-use coupon: one
transaction commits, the other is cancelled and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.coupons.rules import (
    CodeTaken,
    Coupon,
    CouponKind,
    Redemption,
    RedemptionStatus,
)
from clientela import money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_CUSTOMER_INDEX = "coupons-by-customer"
# DynamoDB lists at most 1 MB per page; a customer holds a handful of coupons.
MAX_LISTED = 100


class UsedUp(Exception):
    """The coupon had no use left when the transaction ran (or stopped applying meanwhile)."""


class OrderAlreadyRedeemed(Exception):
    """The order has a live redemption of this coupon already."""


def coupon_key(store_id: str, code: str) -> dict[str, Any]:
    return {"pk": {"S": f"COUPON#{store_id}#{code}"}, "sk": {"S": "COUPON"}}


def redemption_key(store_id: str, order_id: str, code: str) -> dict[str, Any]:
    return {"pk": {"S": f"COUPON_ORDER#{store_id}#{order_id}"}, "sk": {"S": f"COUPON#{code}"}}


def _stamp(value: datetime) -> str:
    """UTC, fixed width: stamps compare as text in condition expressions."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _amount(item: dict[str, Any], name: str, currency: str | None) -> Decimal | None:
    if name not in item:
        return None
    value = Decimal(item[name]["N"])
    # DynamoDB drops trailing zeros: the currency restores the scale.
    return money.quantize(value, currency) if currency else value


def _coupon(store_id: str, item: dict[str, Any]) -> Coupon:
    currency = item["currency"]["S"] if "currency" in item else None
    return Coupon(
        store_id=store_id,
        code=item["code"]["S"],
        customer_id=item["customer_id"]["S"],
        kind=CouponKind(item["kind"]["S"]),
        percentage=int(item["percentage"]["N"]) if "percentage" in item else None,
        amount=_amount(item, "amount", currency),
        currency=currency,
        minimum_order=_amount(item, "minimum_order", currency),
        expires_at=datetime.fromisoformat(item["expires_at"]["S"])
        if "expires_at" in item
        else None,
        usage_limit=int(item["usage_limit"]["N"]),
        uses=int(item["uses"]["N"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
    )


def _redemption(store_id: str, item: dict[str, Any]) -> Redemption:
    currency = item["currency"]["S"]
    return Redemption(
        store_id=store_id,
        code=item["code"]["S"],
        order_id=item["order_id"]["S"],
        customer_id=item["customer_id"]["S"],
        subtotal=money.quantize(Decimal(item["subtotal"]["N"]), currency),
        currency=currency,
        discount=money.quantize(Decimal(item["discount"]["N"]), currency),
        status=RedemptionStatus(item["status"]["S"]),
        redeemed_at=datetime.fromisoformat(item["redeemed_at"]["S"]),
        reverted_at=datetime.fromisoformat(item["reverted_at"]["S"])
        if "reverted_at" in item
        else None,
    )


def coupon_of(item: dict[str, Any]) -> Coupon:
    """A coupon item as the stream shows it (`pk=COUPON#<store>#<code>`)."""
    return _coupon(item["pk"]["S"].split("#")[1], item)


def redemption_of(item: dict[str, Any]) -> tuple[Redemption, int]:
    """A redemption item as the stream shows it, and the uses it left."""
    left = int(item["remaining_uses"]["N"]) if "remaining_uses" in item else 0
    return _redemption(item["pk"]["S"].split("#")[1], item), left


def _reasons(error: ClientError) -> list[str]:
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


class CouponStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def create(self, coupon: Coupon) -> None:
        """Writes a new coupon. Raises CodeTaken if the store has one with that code."""
        item: dict[str, Any] = {
            **coupon_key(coupon.store_id, coupon.code),
            "entity": {"S": "coupon"},
            "code": {"S": coupon.code},
            "customer_id": {"S": coupon.customer_id},
            "kind": {"S": coupon.kind.value},
            "usage_limit": {"N": str(coupon.usage_limit)},
            "uses": {"N": "0"},
            "created_at": {"S": _stamp(coupon.created_at)},
            "coupon_customer": {"S": f"COUPON_CUSTOMER#{coupon.store_id}#{coupon.customer_id}"},
            "coupon_created": {"S": f"{_stamp(coupon.created_at)}#{coupon.code}"},
        }
        if coupon.percentage is not None:
            item["percentage"] = {"N": str(coupon.percentage)}
        if coupon.amount is not None:
            item["amount"] = {"N": str(coupon.amount)}
        if coupon.minimum_order is not None:
            item["minimum_order"] = {"N": str(coupon.minimum_order)}
        if coupon.currency is not None:
            item["currency"] = {"S": coupon.currency}
        if coupon.expires_at is not None:
            item["expires_at"] = {"S": _stamp(coupon.expires_at)}
        try:
            self._db.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise CodeTaken from None
            raise

    def get(self, store_id: str, code: str) -> Coupon | None:
        item = self._db.get_item(
            TableName=self._table, Key=coupon_key(store_id, code), ConsistentRead=True
        ).get("Item")
        return _coupon(store_id, item) if item else None

    def of_customer(self, store_id: str, customer_id: str) -> list[Coupon]:
        """The customer's coupons, newest first (the index is eventually consistent)."""
        response = self._db.query(
            TableName=self._table,
            IndexName=BY_CUSTOMER_INDEX,
            KeyConditionExpression="coupon_customer = :c",
            ExpressionAttributeValues={":c": {"S": f"COUPON_CUSTOMER#{store_id}#{customer_id}"}},
            ScanIndexForward=False,
            Limit=MAX_LISTED,
        )
        return [_coupon(store_id, item) for item in response.get("Items", [])]

    def reassign(self, coupon: Coupon, to: str) -> bool:
        """Binds an unused-up coupon of one customer to another (a merge). False if it is no
        longer that customer's or has no use left (nothing changes)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=coupon_key(coupon.store_id, coupon.code),
                UpdateExpression="SET customer_id = :to, coupon_customer = :index",
                ConditionExpression="customer_id = :from AND #uses < usage_limit",
                ExpressionAttributeNames={"#uses": "uses"},
                ExpressionAttributeValues={
                    ":to": {"S": to},
                    ":from": {"S": coupon.customer_id},
                    ":index": {"S": f"COUPON_CUSTOMER#{coupon.store_id}#{to}"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def get_redemption(self, store_id: str, order_id: str, code: str) -> Redemption | None:
        item = self._db.get_item(
            TableName=self._table,
            Key=redemption_key(store_id, order_id, code),
            ConsistentRead=True,
        ).get("Item")
        return _redemption(store_id, item) if item else None

    def redemptions_of_order(self, store_id: str, order_id: str) -> list[Redemption]:
        response = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :coupon)",
            ExpressionAttributeValues={
                ":pk": {"S": f"COUPON_ORDER#{store_id}#{order_id}"},
                ":coupon": {"S": "COUPON#"},
            },
            ConsistentRead=True,
        )
        return [_redemption(store_id, item) for item in response.get("Items", [])]

    def redeem(self, redemption: Redemption, now: datetime, *, remaining_uses: int) -> None:
        """Takes one use of the coupon and records the redemption, both or neither.

        Raises OrderAlreadyRedeemed if the order has a live redemption of the coupon, UsedUp if
        the coupon had no use left (or is no longer the customer's, or expired meanwhile).
        """
        store_id, code = redemption.store_id, redemption.code
        currency = redemption.currency
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **redemption_key(store_id, redemption.order_id, code),
                                "entity": {"S": "coupon-redemption"},
                                "code": {"S": code},
                                "order_id": {"S": redemption.order_id},
                                "customer_id": {"S": redemption.customer_id},
                                "subtotal": {"N": money.text(redemption.subtotal, currency)},
                                "currency": {"S": currency},
                                "discount": {"N": money.text(redemption.discount, currency)},
                                "status": {"S": RedemptionStatus.REDEEMED.value},
                                "redeemed_at": {"S": _stamp(redemption.redeemed_at)},
                                # What coupon.redeemed says (published from this item).
                                "remaining_uses": {"N": str(remaining_uses)},
                            },
                            # A reverted redemption of the order may be redeemed again.
                            "ConditionExpression": (
                                "attribute_not_exists(pk) OR #status = :reverted"
                            ),
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":reverted": {"S": RedemptionStatus.REVERTED.value}
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": coupon_key(store_id, code),
                            "UpdateExpression": "SET #uses = #uses + :one",
                            "ConditionExpression": (
                                "#uses < usage_limit AND customer_id = :customer AND "
                                "(attribute_not_exists(expires_at) OR expires_at > :now)"
                            ),
                            "ExpressionAttributeNames": {"#uses": "uses"},
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":customer": {"S": redemption.customer_id},
                                ":now": {"S": _stamp(now)},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise OrderAlreadyRedeemed from None
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise UsedUp from None
            raise

    def revert(self, redemption: Redemption, at: datetime) -> bool:
        """Gives the use back. False if the redemption was already reverted (nothing changes)."""
        store_id, code = redemption.store_id, redemption.code
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": redemption_key(store_id, redemption.order_id, code),
                            "UpdateExpression": "SET #status = :reverted, reverted_at = :at",
                            "ConditionExpression": "#status = :redeemed",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":reverted": {"S": RedemptionStatus.REVERTED.value},
                                ":redeemed": {"S": RedemptionStatus.REDEEMED.value},
                                ":at": {"S": _stamp(at)},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": coupon_key(store_id, code),
                            "UpdateExpression": "SET #uses = #uses - :one",
                            "ConditionExpression": "#uses > :zero",
                            "ExpressionAttributeNames": {"#uses": "uses"},
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if _reasons(error)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True
