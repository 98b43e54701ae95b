"""Where customers live: one DynamoDB table, one item collection per store.

Keys: a customer is `pk=STORE#<store>`, `sk=CUSTOMER#<ulid>`, so a store's customers are one
query away, newest first, and no request can reach another store's partition. An e-mail is
reserved with `sk=EMAIL#<address>` in the same transaction that writes the customer, which makes
e-mails unique per store without a scan or an index.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.customers.domain import (
    Customer,
    EmailAlreadyUsed,
    VersionMismatch,
    WriteConflict,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CUSTOMER_PREFIX = "CUSTOMER#"
EMAIL_PREFIX = "EMAIL#"
_TOKEN_NAMESPACE = uuid.UUID("5b0f3c4e-2d1a-4e8b-9c7d-6a5f4e3d2c1b")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def store_key(store_id: str) -> str:
    return f"STORE#{store_id}"


def customer_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": store_key(store_id)}, "sk": {"S": CUSTOMER_PREFIX + customer_id}}


def email_key(store_id: str, email: str) -> dict[str, Any]:
    return {"pk": {"S": store_key(store_id)}, "sk": {"S": EMAIL_PREFIX + email}}


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_item(customer: Customer, *, correlation_id: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "entity": "customer",
        "id": customer.id,
        "store_id": customer.store_id,
        "created_at": _stamp(customer.created_at),
        "updated_at": _stamp(customer.updated_at),
        "version": customer.version,
        **{k: v for k, v in customer.profile().items() if v not in (None, [])},
    }
    if correlation_id:
        # Request id (not personal data): lets the published event name its cause.
        attributes["correlation_id"] = correlation_id
    item = {name: _serializer.serialize(value) for name, value in attributes.items()}
    return {**customer_key(customer.store_id, customer.id), **item}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def from_item(item: dict[str, Any]) -> Customer:
    data = plain(item)
    return Customer(
        id=data["id"],
        store_id=data["store_id"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        version=int(data["version"]),
        email=data.get("email"),
        phone=data.get("phone"),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        city=data.get("city"),
        country=data.get("country"),
        tags=list(data.get("tags", [])),
    )


def _request_token(customer: Customer, operation: str) -> str:
    """The same write of the same customer version always carries the same token."""
    name = f"{customer.store_id}/{customer.id}/{customer.version}/{operation}"
    return str(uuid.uuid5(_TOKEN_NAMESPACE, name))


def _reasons(error: ClientError) -> list[str]:
    return [reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])]


class CustomerStore:
    """Customers of any store, always addressed through the store id."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, store_id: str, customer_id: str) -> Customer | None:
        response = self._db.get_item(
            TableName=self._table, Key=customer_key(store_id, customer_id), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def owner_of_email(self, store_id: str, email: str) -> str | None:
        response = self._db.get_item(
            TableName=self._table, Key=email_key(store_id, email), ConsistentRead=True
        )
        item = response.get("Item")
        return str(item["customer_id"]["S"]) if item else None

    def _reserve_email(self, customer: Customer) -> dict[str, Any]:
        assert customer.email
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **email_key(customer.store_id, customer.email),
                    "entity": {"S": "email"},
                    "customer_id": {"S": customer.id},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _release_email(self, customer: Customer) -> dict[str, Any]:
        assert customer.email
        return {
            "Delete": {
                "TableName": self._table,
                "Key": email_key(customer.store_id, customer.email),
                # A missing reservation (never written, or lost) must not block the change.
                "ConditionExpression": "attribute_not_exists(pk) OR customer_id = :id",
                "ExpressionAttributeValues": {":id": {"S": customer.id}},
            }
        }

    def add(self, customer: Customer, *, correlation_id: str | None = None) -> None:
        """Writes a new customer, reserving its e-mail. Raises EmailAlreadyUsed."""
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(customer, correlation_id=correlation_id),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        actions = [put] + ([self._reserve_email(customer)] if customer.email else [])
        self._transact(actions, customer, email_index=1, operation="add")

    def replace(self, old: Customer, new: Customer, *, correlation_id: str | None = None) -> None:
        """Writes `new` if the stored customer is still `old`. Raises VersionMismatch."""
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(new, correlation_id=correlation_id),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(old.version)}},
            }
        }
        actions: list[dict[str, Any]] = [put]
        email_index = None
        if old.email != new.email:
            if old.email:
                actions.append(self._release_email(old))
            if new.email:
                email_index = len(actions)
                actions.append(self._reserve_email(new))
        self._transact(actions, new, email_index=email_index, operation="replace")

    def remove(self, customer: Customer) -> None:
        """Deletes the customer as it was read. Raises VersionMismatch if it changed since."""
        delete = {
            "Delete": {
                "TableName": self._table,
                "Key": customer_key(customer.store_id, customer.id),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(customer.version)}},
            }
        }
        actions = [delete] + ([self._release_email(customer)] if customer.email else [])
        self._transact(actions, customer, email_index=None, operation="remove")

    def _transact(
        self,
        actions: list[dict[str, Any]],
        customer: Customer,
        *,
        email_index: int | None,
        operation: str,
    ) -> None:
        """All actions or none; one action is a plain conditional write (half the capacity).

        The request token makes the SDK's own retries of a transaction idempotent; a retried
        single write that had landed is recognised by finding our own state stored.
        """
        try:
            if len(actions) == 1:
                self._write_one(actions[0])
            else:
                self._db.transact_write_items(
                    TransactItems=actions,  # type: ignore[arg-type]
                    ClientRequestToken=_request_token(customer, operation),
                )
        except ClientError as error:
            self._explain(error, customer, email_index)

    def _explain(self, error: ClientError, customer: Customer, email_index: int | None) -> None:
        """Turns a refused write into a domain error, or returns if our own write had landed."""
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            reasons = ["ConditionalCheckFailed"]
        elif code == "TransactionCanceledException":
            reasons = _reasons(error)
        elif code == "TransactionConflictException":
            raise WriteConflict from None
        else:
            raise error
        if "TransactionConflict" in reasons:
            raise WriteConflict from None
        if reasons[:1] == ["ConditionalCheckFailed"]:
            current = self.get(customer.store_id, customer.id)
            if current == customer:
                return
            raise VersionMismatch(current.version if current else None) from None
        if email_index is not None and reasons[email_index : email_index + 1] == [
            "ConditionalCheckFailed"
        ]:
            assert customer.email
            owner = self.owner_of_email(customer.store_id, customer.email)
            if owner == customer.id:
                return
            if owner is None:  # released while we tried: the next attempt may well succeed
                raise WriteConflict from None
            raise EmailAlreadyUsed(owner) from None
        raise error

    def _write_one(self, action: dict[str, Any]) -> None:
        if "Put" in action:
            self._db.put_item(**action["Put"])
        else:
            self._db.delete_item(**action["Delete"])

    def page(
        self, store_id: str, *, limit: int, after_id: str | None
    ) -> tuple[list[Customer], bool]:
        """One page of a store's customers, newest first, and whether more follow.

        Reads one item past the page so the last page says so and needs no empty follow-up.
        """
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": store_key(store_id)},
                ":prefix": {"S": CUSTOMER_PREFIX},
            },
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after_id:
            request["ExclusiveStartKey"] = customer_key(store_id, after_id)
        response = self._db.query(**request)
        customers = [from_item(item) for item in response.get("Items", [])]
        return customers[:limit], len(customers) > limit
