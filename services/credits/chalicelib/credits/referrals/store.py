"""Refer-a-friend in DynamoDB (table `clientela-credits`), one partition per store setting,
per referrer and per code, never one per store for what grows with customers:

- programme: `pk=REFERRAL_PROGRAMME#<store>`, `sk=PROGRAMME`.
- referrer: `pk=REFERRER#<store>#<customer>`, `sk=REFERRER` (code, share link).
- code: `pk=REFERRER_CODE#<store>#<code>`, `sk=CODE` -> the referrer. Written in one transaction
  with the referrer, so a code is unique in the store and a customer enrols once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.credits.ledger import store as ledger_store
from chalicelib.credits.programmes.store import StaleVersion
from chalicelib.credits.referrals.rules import (
    Known,
    Programme,
    Reason,
    Referral,
    Referrer,
    Status,
)
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


def _referrers_pk(store_id: str, number: int) -> str:
    return f"REFERRERS#{store_id}#{number}"


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
        ip=item["ip"]["S"] if "ip" in item else None,
    )


def _referrer_item(referrer: Referrer) -> dict[str, Any]:
    store_id = referrer.store_id
    return {
        **referrer_key(store_id, referrer.customer_id),
        "entity": {"S": "referrer"},
        "customer_id": {"S": referrer.customer_id},
        "code": {"S": referrer.code},
        "share_link": {"S": referrer.share_link},
        "enrolled_at": {"S": _stamp(referrer.enrolled_at)},
        **({"ip": {"S": referrer.ip}} if referrer.ip else {}),
        # Listed on the by-store index, write-sharded like balances.
        "gpk": {"S": _referrers_pk(store_id, ledger_store.shard(referrer.customer_id))},
        "gsk": {"S": referrer.customer_id},
    }


class ReferralStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def put_programme(self, programme: Programme, expected: int) -> None:
        """Writes `programme.version` if the stored one is still `expected` (0: none yet).
        Raises StaleVersion (programmes.store) with the current version otherwise."""
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
            "version": {"N": str(programme.version)},
        }
        if programme.expiry_days is not None:
            item["expiry_days"] = {"N": str(programme.expiry_days)}
        if programme.monthly_cap is not None:
            item["monthly_cap"] = {"N": str(programme.monthly_cap)}
        # Programmes written before versions existed count as version 1.
        condition = (
            "attribute_not_exists(pk)"
            if expected == 0
            else "version = :v OR (attribute_not_exists(version) AND :v = :one)"
        )
        args: dict[str, Any] = {"ConditionExpression": condition}
        if expected:
            args["ExpressionAttributeValues"] = {":v": {"N": str(expected)}, ":one": {"N": "1"}}
        try:
            self._db.put_item(TableName=self._table, Item=item, **args)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get_programme(programme.store_id)
            raise StaleVersion(current.version if current else 0) from None

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
            version=int(item["version"]["N"]) if "version" in item else 1,
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
                            "Item": _referrer_item(referrer),
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

    def referrer_ids(self, store_id: str, *, after: str | None, limit: int) -> list[str]:
        """The store's referrers by customer id past `after`, at most `limit` (the by-store
        index's `REFERRERS#<store>#<shard>` partitions, merged)."""
        found: list[str] = []
        for number in range(ledger_store.SHARDS):
            page = self._db.query(
                TableName=self._table,
                IndexName="by-store",
                KeyConditionExpression="gpk = :pk AND gsk > :after",
                ExpressionAttributeValues={
                    ":pk": {"S": _referrers_pk(store_id, number)},
                    ":after": {"S": after or " "},
                },
                Limit=limit,
            )
            found += [item["gsk"]["S"] for item in page.get("Items", [])]
        return sorted(found)[:limit]

    def get_referrer(self, store_id: str, customer_id: str) -> Referrer | None:
        item = self._db.get_item(
            TableName=self._table, Key=referrer_key(store_id, customer_id), ConsistentRead=True
        ).get("Item")
        return _referrer(store_id, item) if item else None

    def hand_over(self, merged: Referrer, kept: Referrer | None, kept_id: str) -> None:
        """A merge: the merged referrer's code resolves to the kept customer from now on, who
        takes it as their own when they had none (`kept` None); the merged referrer goes. One
        transaction, conditional on the merged referrer still being there and the code still
        theirs, so a redelivery or a race changes nothing twice. Raises StaleStatus when a
        condition failed (read again)."""
        store_id = merged.store_id
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": code_key(store_id, merged.code),
                    "UpdateExpression": "SET customer_id = :kept",
                    "ConditionExpression": "customer_id = :merged",
                    "ExpressionAttributeValues": {
                        ":kept": {"S": kept_id},
                        ":merged": {"S": merged.customer_id},
                    },
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": referrer_key(store_id, merged.customer_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
        if kept is None:
            taken = replace(merged, customer_id=kept_id)
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _referrer_item(taken),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            self._db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if "ConditionalCheckFailed" in _cancelled(error):
                raise StaleStatus from None
            raise

    def referrer_of_code(self, store_id: str, code: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table, Key=code_key(store_id, code), ConsistentRead=True
        ).get("Item")
        return item["customer_id"]["S"] if item else None


# Referrals -------------------------------------------------------------------------------------
#
# - referral: `pk=REFERRAL#<store>#<id>`, `sk=REFERRAL`. Listed by referrer through the GSI
#   `referrals-by-referrer` (`referral_referrer=REFERRAL_REFERRER#<store>#<referrer>`,
#   `referral_id=<id>`, ids are ULIDs: newest first).
# - friend lock: `pk=REFERRAL_FRIEND#<store>#<friend>`, `sk=FRIEND` -> the referral. Written with
#   the referral in one transaction, only if absent: the first referrer wins.
# - order: `pk=REFERRAL_ORDER#<store>#<order>`, `sk=ORDER` -> the referral its first order
#   qualified, or a tombstone when the cancellation / refund arrived before `order.placed`.
# - due: qualified referrals carry `referral_due=REFERRAL_DUE#<shard>` and
#   `referral_due_at=<due>#<store>#<id>` (GSI `referrals-due`), removed once both rewards are
#   granted: the scheduled job reads what fell due, spread over DUE_SHARDS partitions.
# - customers: `pk=REFERRAL_CUSTOMER#<store>#<customer>`, `sk=CUSTOMER`: mailbox, phone, whether
#   they ordered; from customer and order events (the fraud checks' read model).
# - rewards this month: `pk=REFERRER#<store>#<referrer>`, `sk=REWARDS#<YYYY-MM>` (the cap).

BY_REFERRER_INDEX = "referrals-by-referrer"
BY_STATUS_INDEX = "referrals-by-status"
DUE_INDEX = "referrals-due"
DUE_SHARDS = 8
# A store's referrals of one status (the review queue: flagged) spread over this many
# partitions, so a busy store's sign-ups never pile onto one.
STATUS_SHARDS = 8


class FriendTaken(Exception):
    """The friend was referred already."""


class StaleStatus(Exception):
    """The referral was not in the status the change expected (a concurrent change won)."""


class CapReached(Exception):
    pass


def referral_key(store_id: str, referral_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRAL#{store_id}#{referral_id}"}, "sk": {"S": "REFERRAL"}}


def friend_key(store_id: str, friend_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRAL_FRIEND#{store_id}#{friend_id}"}, "sk": {"S": "FRIEND"}}


def order_key(store_id: str, order_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRAL_ORDER#{store_id}#{order_id}"}, "sk": {"S": "ORDER"}}


def known_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRAL_CUSTOMER#{store_id}#{customer_id}"}, "sk": {"S": "CUSTOMER"}}


def rewards_key(store_id: str, referrer_id: str, month: str) -> dict[str, Any]:
    return {"pk": {"S": f"REFERRER#{store_id}#{referrer_id}"}, "sk": {"S": f"REWARDS#{month}"}}


def _when(item: dict[str, Any], name: str) -> datetime | None:
    return datetime.fromisoformat(item[name]["S"]) if name in item else None


def _referral(store_id: str, item: dict[str, Any]) -> Referral:
    return Referral(
        store_id=store_id,
        id=item["referral_id"]["S"],
        referrer_id=item["referrer_id"]["S"],
        friend_id=item["friend_id"]["S"],
        code=item["code"]["S"],
        status=Status(item["status"]["S"]),
        reason=Reason(item["reason"]["S"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        order_id=item["order_id"]["S"] if "order_id" in item else None,
        paid_at=_when(item, "paid_at"),
        due_at=_when(item, "due_at"),
    )


def referral_of(item: dict[str, Any]) -> Referral:
    """A referral item as the stream shows it (`pk=REFERRAL#<store>#<id>`)."""
    return _referral(item["pk"]["S"].split("#")[1], item)


def _shard(referral_id: str, shards: int = DUE_SHARDS) -> int:
    return sum(referral_id.encode()) % shards


def _status_partition(store_id: str, status: Status, referral_id: str) -> str:
    return f"REFERRAL_STATUS#{store_id}#{status.value}#{_shard(referral_id, STATUS_SHARDS)}"


def _cancelled(error: ClientError) -> list[str]:
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        raise error
    return [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]


class ReferralRecords(ReferralStore):
    """Referrals, their locks and the customers' read model (same table as ReferralStore)."""

    def create(self, referral: Referral) -> None:
        """Raises FriendTaken if the friend has a referral already."""
        store_id = referral.store_id
        item: dict[str, Any] = {
            **referral_key(store_id, referral.id),
            "entity": {"S": "referral"},
            "referral_id": {"S": referral.id},
            "referrer_id": {"S": referral.referrer_id},
            "friend_id": {"S": referral.friend_id},
            "code": {"S": referral.code},
            "status": {"S": referral.status.value},
            "reason": {"S": referral.reason.value},
            "created_at": {"S": _stamp(referral.created_at)},
            "updated_at": {"S": _stamp(referral.updated_at)},
            "referral_referrer": {"S": f"REFERRAL_REFERRER#{store_id}#{referral.referrer_id}"},
            "referral_status": {"S": _status_partition(store_id, referral.status, referral.id)},
        }
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **friend_key(store_id, referral.friend_id),
                                "entity": {"S": "referral-friend"},
                                "referral_id": {"S": referral.id},
                                "referrer_id": {"S": referral.referrer_id},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _cancelled(error)[:1] == ["ConditionalCheckFailed"]:
                raise FriendTaken from None
            raise

    def get(self, store_id: str, referral_id: str) -> Referral | None:
        item = self._db.get_item(
            TableName=self._table, Key=referral_key(store_id, referral_id), ConsistentRead=True
        ).get("Item")
        return _referral(store_id, item) if item else None

    def of_friend(self, store_id: str, friend_id: str) -> Referral | None:
        item = self._db.get_item(
            TableName=self._table, Key=friend_key(store_id, friend_id), ConsistentRead=True
        ).get("Item")
        return self.get(store_id, item["referral_id"]["S"]) if item else None

    def of_referrer(
        self,
        store_id: str,
        referrer_id: str,
        *,
        status: Status | None,
        limit: int,
        after: str | None,
    ) -> tuple[list[Referral], str | None]:
        """A page of the referrer's referrals, newest first, and the last id if more follow."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_REFERRER_INDEX,
            "KeyConditionExpression": "referral_referrer = :r",
            "ExpressionAttributeValues": {
                ":r": {"S": f"REFERRAL_REFERRER#{store_id}#{referrer_id}"}
            },
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        if after is not None:
            request["ExclusiveStartKey"] = {
                **referral_key(store_id, after),
                "referral_referrer": {"S": f"REFERRAL_REFERRER#{store_id}#{referrer_id}"},
                "referral_id": {"S": after},
            }
        response = self._db.query(**request)
        items = [_referral(store_id, item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, (last["referral_id"]["S"] if last else None)

    def by_status(
        self, store_id: str, status: Status, *, limit: int, before: str | None
    ) -> tuple[list[Referral], str | None]:
        """A page of the store's referrals in `status`, newest first, and the last id if more
        follow. Each shard is read from the same bound (ids below `before`) and merged."""
        merged: list[Referral] = []
        more = False
        for shard in range(STATUS_SHARDS):
            values: dict[str, Any] = {
                ":p": {"S": f"REFERRAL_STATUS#{store_id}#{status.value}#{shard}"}
            }
            condition = "referral_status = :p"
            if before is not None:
                condition += " AND referral_id < :before"
                values[":before"] = {"S": before}
            response = self._db.query(
                TableName=self._table,
                IndexName=BY_STATUS_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                Limit=limit,
            )
            merged += [_referral(store_id, item) for item in response.get("Items", [])]
            more = more or "LastEvaluatedKey" in response
        merged.sort(key=lambda referral: referral.id, reverse=True)
        page = merged[:limit]
        following = more or len(merged) > limit
        return page, (page[-1].id if following and page else None)

    def change(
        self,
        referral: Referral,
        expected: Status,
        *,
        extra: list[dict[str, Any]] | None = None,
        due: bool | None = None,
    ) -> None:
        """Writes the referral's new status (and order, dates) if it still is `expected`.

        `due=True` puts it on the scheduled job's list, `due=False` takes it off. `extra`
        transact items commit with it. Raises StaleStatus if another change got there first.
        """
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":status": {"S": referral.status.value},
            ":reason": {"S": referral.reason.value},
            ":updated": {"S": _stamp(referral.updated_at)},
            ":expected": {"S": expected.value},
        }
        sets = [
            "#status = :status",
            "reason = :reason",
            "updated_at = :updated",
            "referral_status = :status_pk",
        ]
        values[":status_pk"] = {
            "S": _status_partition(referral.store_id, referral.status, referral.id)
        }
        removes: list[str] = []
        if referral.order_id is not None:
            sets.append("order_id = :order")
            values[":order"] = {"S": referral.order_id}
        for name in ("paid_at", "due_at"):
            value = getattr(referral, name)
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": _stamp(value)}
        if due is True and referral.due_at is not None:
            sets += ["referral_due = :due_pk", "referral_due_at = :due_sk"]
            values[":due_pk"] = {"S": f"REFERRAL_DUE#{_shard(referral.id)}"}
            values[":due_sk"] = {
                "S": f"{_stamp(referral.due_at)}#{referral.store_id}#{referral.id}"
            }
        elif due is False:
            removes += ["referral_due", "referral_due_at"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "Update": {
                "TableName": self._table,
                "Key": referral_key(referral.store_id, referral.id),
                "UpdateExpression": expression,
                "ConditionExpression": "#status = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        try:
            self._db.transact_write_items(TransactItems=[update, *(extra or [])])  # type: ignore[list-item]
        except ClientError as error:
            reasons = _cancelled(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise StaleStatus from None
            if "ConditionalCheckFailed" in reasons[1:]:
                raise CapReached from None
            raise

    def move(self, moved: Referral, read: Referral, *, lock_from: str | None) -> None:
        """A merge re-points the referral to `moved`'s referrer and friend (and reason), if it
        is still as `read`. A new friend takes the friend lock with it: a fresh one, or, with
        `lock_from`, the lock the friend holds for that (voided) referral. Raises StaleStatus
        (the referral changed) or FriendTaken (the new friend's lock is another's)."""
        store_id = moved.store_id
        update = {
            "Update": {
                "TableName": self._table,
                "Key": referral_key(store_id, moved.id),
                "UpdateExpression": "SET referrer_id = :referrer, friend_id = :friend, "
                "referral_referrer = :by, reason = :reason, updated_at = :updated",
                "ConditionExpression": "#status = :status AND referrer_id = :was_referrer "
                "AND friend_id = :was_friend",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":referrer": {"S": moved.referrer_id},
                    ":friend": {"S": moved.friend_id},
                    ":by": {"S": f"REFERRAL_REFERRER#{store_id}#{moved.referrer_id}"},
                    ":reason": {"S": moved.reason.value},
                    ":updated": {"S": _stamp(moved.updated_at)},
                    ":status": {"S": read.status.value},
                    ":was_referrer": {"S": read.referrer_id},
                    ":was_friend": {"S": read.friend_id},
                },
            }
        }
        items: list[dict[str, Any]] = [update]
        if moved.friend_id != read.friend_id:
            lock = {
                **friend_key(store_id, moved.friend_id),
                "entity": {"S": "referral-friend"},
                "referral_id": {"S": moved.id},
                "referrer_id": {"S": moved.referrer_id},
            }
            condition = "attribute_not_exists(pk)"
            values: dict[str, Any] = {}
            if lock_from is not None:
                condition = "referral_id = :from"
                values = {":from": {"S": lock_from}}
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": lock,
                "ConditionExpression": condition,
            }
            if values:
                put["ExpressionAttributeValues"] = values
            items.append({"Put": put})
        try:
            self._db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = _cancelled(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise StaleStatus from None
            if "ConditionalCheckFailed" in reasons[1:]:
                raise FriendTaken from None
            raise

    def order_item(self, store_id: str, order_id: str, referral_id: str) -> dict[str, Any]:
        """The transact item that ties the order to the referral (once per order)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **order_key(store_id, order_id),
                    "entity": {"S": "referral-order"},
                    "referral_id": {"S": referral_id},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def order(self, store_id: str, order_id: str) -> dict[str, str] | None:
        """{"referral_id": ...} or {"undone": reason} (a tombstone), or None."""
        item = self._db.get_item(
            TableName=self._table, Key=order_key(store_id, order_id), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return {name: item[name]["S"] for name in ("referral_id", "undone") if name in item}

    def tombstone(self, store_id: str, order_id: str, reason: Reason) -> None:
        """Remembers a cancellation that overtook its order, unless the order is known."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    **order_key(store_id, order_id),
                    "entity": {"S": "referral-order"},
                    "undone": {"S": reason.value},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def cap_item(
        self, store_id: str, referrer_id: str, month: str, cap: int | None
    ) -> dict[str, Any]:
        """The transact item that counts a reward against the referrer's monthly cap."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": rewards_key(store_id, referrer_id, month),
            "UpdateExpression": "ADD rewarded :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if cap is not None:
            update["ConditionExpression"] = "attribute_not_exists(rewarded) OR rewarded < :cap"
            update["ExpressionAttributeValues"][":cap"] = {"N": str(cap)}
        return {"Update": update}

    def due(self, now: datetime) -> list[tuple[str, str]]:
        """(store, referral id) of the referrals whose rewards are due, every shard."""
        found = []
        for shard in range(DUE_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "referral_due = :pk AND referral_due_at <= :now",
                "ExpressionAttributeValues": {
                    ":pk": {"S": f"REFERRAL_DUE#{shard}"},
                    ":now": {"S": _stamp(now) + "~"},
                },
            }
            while True:
                response = self._db.query(**request)
                for item in response.get("Items", []):
                    # `<due>#<store>#<id>`: the index holds keys only.
                    store_and_id = item["referral_due_at"]["S"].split("#", 1)[1]
                    store_id, referral_id = store_and_id.rsplit("#", 1)
                    found.append((store_id, referral_id))
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found

    def put_known(
        self, store_id: str, customer_id: str, *, mailbox: str, phone: str | None, version: int
    ) -> None:
        """A customer's e-mail and phone, newest version wins, a deletion is never undone."""
        values: dict[str, Any] = {":mailbox": {"S": mailbox}, ":v": {"N": str(version)}}
        sets = ["mailbox = :mailbox", "version = :v"]
        removes = []
        if phone:
            sets.append("phone = :phone")
            values[":phone"] = {"S": phone}
        else:
            removes.append("phone")
        try:
            self._db.update_item(
                TableName=self._table,
                Key=known_key(store_id, customer_id),
                UpdateExpression="SET "
                + ", ".join(sets)
                + (" REMOVE " + ", ".join(removes) if removes else ""),
                ConditionExpression=(
                    "attribute_not_exists(deleted) AND "
                    "(attribute_not_exists(version) OR version < :v)"
                ),
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def forget_known(self, store_id: str, customer_id: str) -> None:
        """customer.deleted: the personal data goes, a tombstone stays."""
        self._db.update_item(
            TableName=self._table,
            Key=known_key(store_id, customer_id),
            UpdateExpression="SET deleted = :yes REMOVE mailbox, phone",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def mark_ordered(self, store_id: str, customer_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=known_key(store_id, customer_id),
            UpdateExpression="SET ordered = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def known(self, store_id: str, customer_id: str) -> Known:
        item = (
            self._db.get_item(
                TableName=self._table, Key=known_key(store_id, customer_id), ConsistentRead=True
            ).get("Item")
            or {}
        )
        return Known(
            customer_id=customer_id,
            mailbox=item["mailbox"]["S"] if "mailbox" in item else None,
            phone=item["phone"]["S"] if "phone" in item else None,
            ordered=bool(item.get("ordered", {}).get("BOOL")),
            deleted=bool(item.get("deleted", {}).get("BOOL")),
        )

    def off_due_list(self, store_id: str, referral_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=referral_key(store_id, referral_id),
            UpdateExpression="REMOVE referral_due, referral_due_at",
        )
