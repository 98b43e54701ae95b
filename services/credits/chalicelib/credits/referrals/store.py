"""Refer-a-friend in DynamoDB (table `clientela-credits`), one partition per store setting,
per referrer and per code, never one per store for what grows with customers:

- programme: `pk=REFERRAL_PROGRAMME#<store>`, `sk=PROGRAMME`.
- referrer: `pk=REFERRER#<store>#<customer>`, `sk=REFERRER` (code, share link).
- code: `pk=REFERRER_CODE#<store>#<code>`, `sk=CODE` -> the referrer. Written in one transaction
  with the referrer, so a code is unique in the store and a customer enrols once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.referrals.rules import Programme, Referrer
from clientela import money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class AlreadyEnrolled(Exception):
    pass


class CodeTaken(Exception):
    pass


def programme_key(store_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRAL_PROGRAMME#{store_id}"}, "sk": {"S": "PROGRAMME"}}


def referrer_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRER#{store_id}#{customer_id}"}, "sk": {"S": "REFERRER"}}


def code_key(store_id: str, code: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRER_CODE#{store_id}#{code}"}, "sk": {"S": "CODE"}}


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _referrer(store_id: str, item: dict[str, Any]) -> Referrer:
    return Referrer(
        store_id=store_id,
        customer_id=item["customer_id"]["S"],
        code=item["code"]["S"],
        share_link=item["share_link"]["S"],
        enrolled_at=datetime.fromisoformat(item["enrolled_at"]["S"]),
    )


class ReferralStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def put_programme(self, programme: Programme) -> None:
        currency = programme.currency
        item: dict[str, Any] = {
            **programme_key(programme.store_id),
            "entity": {"S": "referral-programme"},
            "referrer_reward": {"N": money.text(programme.referrer_reward, currency)},
            "friend_reward": {"N": money.text(programme.friend_reward, currency)},
            "currency": {"S": currency},
            "hold_window_days": {"N": str(programme.hold_window_days)},
            "share_base_url": {"S": programme.share_base_url},
            "updated_at": {"S": _stamp(programme.updated_at)},
        }
        if programme.expiry_days is not None:
            item["expiry_days"] = {"N": str(programme.expiry_days)}
        if programme.monthly_cap is not None:
            item["monthly_cap"] = {"N": str(programme.monthly_cap)}
        self._db.put_item(TableName=self._table, Item=item)

    def get_programme(self, store_id: str) -> Programme | None:
        item = self._db.get_item(
            TableName=self._table, Key=programme_key(store_id), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        currency = item["currency"]["S"]
        return Programme(
            store_id=store_id,
            # DynamoDB drops trailing zeros: the currency restores the scale.
            referrer_reward=money.quantize(Decimal(item["referrer_reward"]["N"]), currency),
            friend_reward=money.quantize(Decimal(item["friend_reward"]["N"]), currency),
            currency=currency,
            expiry_days=int(item["expiry_days"]["N"]) if "expiry_days" in item else None,
            hold_window_days=int(item["hold_window_days"]["N"]),
            monthly_cap=int(item["monthly_cap"]["N"]) if "monthly_cap" in item else None,
            share_base_url=item["share_base_url"]["S"],
            updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        )

    def enrol(self, referrer: Referrer) -> None:
        """Raises AlreadyEnrolled (the customer has a code) or CodeTaken (the code is another's)."""
        store_id = referrer.store_id
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **referrer_key(store_id, referrer.customer_id),
                                "entity": {"S": "referrer"},
                                "customer_id": {"S": referrer.customer_id},
                                "code": {"S": referrer.code},
                                "share_link": {"S": referrer.share_link},
                                "enrolled_at": {"S": _stamp(referrer.enrolled_at)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **code_key(store_id, referrer.code),
                                "entity": {"S": "referrer-code"},
                                "customer_id": {"S": referrer.customer_id},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise AlreadyEnrolled from None
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise CodeTaken from None
            raise

    def get_referrer(self, store_id: str, customer_id: str) -> Referrer | None:
        item = self._db.get_item(
            TableName=self._table, Key=referrer_key(store_id, customer_id), ConsistentRead=True
        ).get("Item")
        return _referrer(store_id, item) if item else None

    def referrer_of_code(self, store_id: str, code: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table, Key=code_key(store_id, code), ConsistentRead=True
        ).get("Item")
        return item["customer_id"]["S"] if item else None
