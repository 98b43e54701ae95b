"""Contacts in DynamoDB (table `clientela-automation-mail`), one partition per customer.

- contact: `pk=CONTACT#<store>#<customer>`, `sk=CONTACT`. `version` is the profile version the
  item holds; `deleted` marks a tombstone. `last_order_at` is kept apart from the profile (it
  comes from order events, which carry no version) and may arrive before the profile does.
  The order and review aggregates (`orders_count`, `total_spent`, ...) change without a new
  version: `totals_at` is the time of the event that wrote them, and at the same version only a
  later one replaces them.
- the store's contacts, listed shard by shard (scheduled flows walk them): index
  `contacts-by-shard`, `kpk=CONTACTS#<store>#<0..15>` (a hash of the customer), `ksk=<customer>`;
  set with the profile, removed with it (tombstones and order-only items are not listed). A
  partition holds 1/16 of a store's contacts and takes 1/16 of its profile writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.automation.contacts.rules import Contact, contact_shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_ID_CHARS = 128
CONTACTS_INDEX = "contacts-by-shard"

_PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "language",
    "country",
    "tags",
    "email_consent",
    "created_at",
    "birthday",
    "favorite",
    "city",
    "sms_consent",
)
# Changed without a new profile version (customer.updated naming only these).
_TOTALS_FIELDS = (
    "orders_count",
    "total_spent",
    "currency",
    "last_seen_at",
    "rating_average",
)


def contact_key(store_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CONTACT#{store_id}#{customer_id}"}, "sk": {"S": "CONTACT"}}


def stamp(value: datetime) -> str:
    """UTC, fixed width: stamps compare as text in condition expressions."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, datetime):
        return {"S": stamp(value)}
    if isinstance(value, date):
        return {"S": value.isoformat()}
    if isinstance(value, tuple | list):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None and "S" in value else None


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    return datetime.fromisoformat(text) if text else None


def _shard_pk(store_id: str, shard: int) -> str:
    return f"CONTACTS#{store_id}#{shard}"


def _number(item: dict[str, Any], name: str) -> Decimal | None:
    value = item.get(name)
    return Decimal(value["N"]) if value is not None and "N" in value else None


def _set_and_remove(values: dict[str, Any]) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """`SET` and `REMOVE` clauses writing `values` (None or empty: removed)."""
    present = {name: value for name, value in values.items() if value not in (None, ())}
    absent = [name for name in values if name not in present]
    sets = ", ".join(f"#{name} = :{name}" for name in present)
    removes = ", ".join(f"#{name}" for name in absent)
    names = {f"#{name}": name for name in values}
    return sets, removes, names, {f":{name}": _value(v) for name, v in present.items()}


def _contact(store_id: str, customer_id: str, item: dict[str, Any]) -> Contact:
    birthday = _text(item, "birthday")
    return Contact(
        store_id=store_id,
        customer_id=customer_id,
        email=_text(item, "email"),
        first_name=_text(item, "first_name"),
        last_name=_text(item, "last_name"),
        language=_text(item, "language"),
        country=_text(item, "country"),
        tags=tuple(v["S"] for v in item.get("tags", {}).get("L", [])),
        email_consent=_text(item, "email_consent") or "never_asked",
        created_at=_instant(item, "created_at"),
        birthday=date.fromisoformat(birthday) if birthday else None,
        last_order_at=_instant(item, "last_order_at"),
        version=int(item["version"]["N"]),
        favorite=item.get("favorite", {}).get("BOOL", False),
        city=_text(item, "city"),
        sms_consent=_text(item, "sms_consent") or "never_asked",
        orders_count=None if (orders := _number(item, "orders_count")) is None else int(orders),
        total_spent=_number(item, "total_spent"),
        currency=_text(item, "currency"),
        last_seen_at=_instant(item, "last_seen_at"),
        rating_average=_number(item, "rating_average"),
    )


class ContactStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, store_id: str, customer_id: str) -> Contact | None:
        if len(customer_id) > MAX_ID_CHARS:  # no such id, and too long for a key
            return None
        item = self.client.get_item(
            TableName=self.table, Key=contact_key(store_id, customer_id), ConsistentRead=True
        ).get("Item")
        if item is None or "version" not in item or "deleted" in item:
            return None
        return _contact(store_id, customer_id, item)

    def page(
        self, store_id: str, shard: int, *, after: str | None, limit: int
    ) -> tuple[list[Contact], str | None]:
        """Up to `limit` of the store's contacts in one shard, by customer id after `after`;
        the last id read when there may be more, else None."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": CONTACTS_INDEX,
            "KeyConditionExpression": "kpk = :kpk" + (" AND ksk > :after" if after else ""),
            "ExpressionAttributeValues": {":kpk": {"S": _shard_pk(store_id, shard)}},
            "Limit": limit,
        }
        if after:
            request["ExpressionAttributeValues"][":after"] = {"S": after}
        response = self.client.query(**request)
        items = response.get("Items", [])
        found = [
            _contact(store_id, item["ksk"]["S"], item)
            for item in items
            if "version" in item and "deleted" not in item
        ]
        more = "LastEvaluatedKey" in response and items
        return found, items[-1]["ksk"]["S"] if more else None

    def put_profile(self, contact: Contact, *, at: datetime | None = None) -> bool:
        """Writes the profile if it is newer than what the item holds. False when it is not.

        `at`: the event's time; with it, the order and review aggregates are written too."""
        fields = {name: getattr(contact, name) for name in _PROFILE_FIELDS}
        if at is not None:
            fields |= {name: getattr(contact, name) for name in _TOTALS_FIELDS}
            fields["totals_at"] = at
        sets, removes, names, values = _set_and_remove(fields)
        names |= {"#version": "version", "#deleted": "deleted"}
        values[":v"] = {"N": str(contact.version)}
        # Listed for scheduled flows once it has a profile (see the module's docstring).
        values[":kpk"] = {"S": _shard_pk(contact.store_id, contact_shard(contact.customer_id))}
        values[":ksk"] = {"S": contact.customer_id}
        expression = (
            f"SET {sets + ', ' if sets else ''}#version = :v, kpk = :kpk, ksk = :ksk"
            " REMOVE #deleted"
        )
        if removes:
            expression += ", " + removes
        return self._conditional(
            store_id=contact.store_id,
            customer_id=contact.customer_id,
            expression=expression,
            condition="attribute_not_exists(#version) OR #version < :v",
            names=names,
            values=values,
        )

    def put_totals(self, contact: Contact, *, at: datetime) -> bool:
        """The order and review aggregates of the profile version the item holds, if they are
        newer than the ones it has (an older or redelivered event changes nothing)."""
        fields: dict[str, Any] = {name: getattr(contact, name) for name in _TOTALS_FIELDS}
        fields["totals_at"] = at
        sets, removes, names, values = _set_and_remove(fields)
        names |= {"#version": "version", "#deleted": "deleted"}
        values[":v"] = {"N": str(contact.version)}
        return self._conditional(
            store_id=contact.store_id,
            customer_id=contact.customer_id,
            expression=f"SET {sets}" + (f" REMOVE {removes}" if removes else ""),
            condition=(
                "#version = :v AND attribute_not_exists(#deleted)"
                " AND (attribute_not_exists(#totals_at) OR #totals_at <= :totals_at)"
            ),
            names=names,
            values=values,
        )

    def put_tombstone(
        self, store_id: str, customer_id: str, version: int, *, erased: bool = False
    ) -> bool:
        """Forgets the profile, keeping the version it was deleted at (late updates lose).
        `erased`: a privacy erasure, after which no event of the customer is followed."""
        forgotten = (*_PROFILE_FIELDS, *_TOTALS_FIELDS, "totals_at", "last_order_at")
        names = {f"#{name}": name for name in (*forgotten, "version", "deleted")}
        removed = ", ".join(f"#{name}" for name in forgotten)
        sets = "#version = :v, #deleted = :t"
        if erased:
            names["#erased"] = "erased"
            sets += ", #erased = :t"
        return self._conditional(
            store_id=store_id,
            customer_id=customer_id,
            expression=f"SET {sets} REMOVE {removed}, kpk, ksk",
            condition="attribute_not_exists(#version) OR #version <= :v",
            names=names,
            values={":v": {"N": str(version)}, ":t": {"BOOL": True}},
        )

    def erased(self, store_id: str, customer_id: str) -> bool:
        """Whether the customer's data was erased here (a privacy request)."""
        if len(customer_id) > MAX_ID_CHARS:
            return False
        item = self.client.get_item(
            TableName=self.table,
            Key=contact_key(store_id, customer_id),
            ProjectionExpression="erased",
        ).get("Item")
        return bool(item and item.get("erased", {}).get("BOOL"))

    def note_order(self, store_id: str, customer_id: str, placed_at: datetime) -> bool:
        """Moves `last_order_at` forward only: orders arrive in any order."""
        return self._conditional(
            store_id=store_id,
            customer_id=customer_id,
            expression="SET #at = :at",
            # Never onto a tombstone: an erased (or deleted) customer's orders are not kept.
            condition="attribute_not_exists(#deleted) AND (attribute_not_exists(#at) OR #at < :at)",
            names={"#at": "last_order_at", "#deleted": "deleted"},
            values={":at": {"S": stamp(placed_at)}},
        )

    def _conditional(
        self,
        *,
        store_id: str,
        customer_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=contact_key(store_id, customer_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_consent(self, store_id: str, customer_id: str, state: str) -> None:
        """The consent state alone, version unchanged (the profile's next version confirms it)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=contact_key(store_id, customer_id),
                UpdateExpression="SET email_consent = :s",
                ConditionExpression="attribute_exists(version) AND attribute_not_exists(deleted)",
                ExpressionAttributeValues={":s": {"S": state}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
