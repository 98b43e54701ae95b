"""Where segments live: the store's partition, next to its customers.

Items (pk `STORE#<store>`):
- a saved segment: sk `SEGMENT#<ulid>`, its filter as a JSON-safe map;
- its name reservation: sk `SEGMENT_NAME#<name, case folded>` (names are unique per store);
- the store's segment settings: sk `SETTINGS#segments`: the built-ins' thresholds (versioned)
  and the number of saved segments (bounded by MAX_SAVED_SEGMENTS).
All three sort between `SEGMENT#` and `SETTINGS#segments`, so one Query reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.customers import keys
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.segments.rules import (
    MAX_SAVED_SEGMENTS,
    Segment,
    SegmentNameTaken,
    Thresholds,
    TooManySegments,
    name_key,
)
from clientela import problems
from clientela.problems import FieldError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NAME_PREFIX = "SEGMENT_NAME#"
SETTINGS_SK = "SETTINGS#segments"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class StaleSegment(Exception):
    """The segment (or the thresholds) changed or vanished since it was read."""


@dataclass(frozen=True)
class Catalog:
    """A store's saved segments (by id) and its built-in thresholds."""

    saved: dict[str, Segment]
    thresholds: Thresholds
    thresholds_version: int
    saved_count: int


def filter_map(query: CustomerFilterQuery) -> dict[str, Any]:
    """A filter as plain JSON values (dates as ISO text, amounts as decimal text)."""
    return query.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def _key(store_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": keys.store_pk(store_id)}, "sk": {"S": sk}}


def _segment_sk(segment_id: str) -> str:
    return keys.SEGMENT_PREFIX + segment_id


def _name_sk(name: str) -> str:
    return NAME_PREFIX + name_key(name)


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def stored_filter(stored: dict[str, Any]) -> tuple[CustomerFilterQuery, tuple[FieldError, ...]]:
    """A saved filter as today's rules read it, and what they refuse in it.

    A filter saved before a rule refused some of its values (a blank `q`) must not make the
    store's segments unreadable: it reads as its other fields, with the refused ones named
    (`filter.q`), and the segment is then shown but never run (Segment.invalid).
    """
    data = dict(stored)
    refused: list[FieldError] = []
    while True:
        try:
            return CustomerFilterQuery.model_validate(data), tuple(refused)
        except ValidationError as error:
            found = problems.from_validation_error(error, location="filter").errors
            refused += found
            names = {str(e["loc"][0]) for e in error.errors() if e["loc"]} & data.keys()
            # Errors of no single field (a range given backwards) leave nothing to keep.
            data = {k: v for k, v in data.items() if k not in names} if names else {}


def _segment_of(item: dict[str, Any]) -> Segment:
    data = {name: _deserializer.deserialize(value) for name, value in item.items()}
    query, invalid = stored_filter(data.get("filter", {}))
    return Segment(
        id=data["id"],
        name=data["name"],
        query=query,
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        version=int(data["version"]),
        invalid=invalid,
    )


def _reasons(error: ClientError) -> list[str]:
    return [reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])]


class SegmentStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def catalog(self, store_id: str) -> Catalog:
        """Every saved segment and the thresholds: one Query (paged only past 1 MB)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.store_pk(store_id)},
                ":first": {"S": keys.SEGMENT_PREFIX},
                ":last": {"S": SETTINGS_SK},
            },
            "ConsistentRead": True,
        }
        saved: dict[str, Segment] = {}
        settings: dict[str, Any] = {}
        while True:
            response = self._db.query(**request)
            for item in response.get("Items", []):
                sk = item["sk"]["S"]
                if sk == SETTINGS_SK:
                    settings = {k: _deserializer.deserialize(v) for k, v in item.items()}
                elif sk.startswith(keys.SEGMENT_PREFIX) and item.get("entity", {}).get("S") == (
                    "segment"
                ):
                    segment = _segment_of(item)
                    saved[segment.id] = segment
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return Catalog(
            saved=saved,
            thresholds=Thresholds.of(settings.get("thresholds")),
            thresholds_version=int(settings.get("version", 0)),
            saved_count=int(settings.get("saved_count", 0)),
        )

    def thresholds(self, store_id: str) -> tuple[Thresholds, int]:
        """The built-ins' thresholds and their version (0: never changed)."""
        response = self._db.get_item(
            TableName=self._table, Key=_key(store_id, SETTINGS_SK), ConsistentRead=True
        )
        data = {k: _deserializer.deserialize(v) for k, v in response.get("Item", {}).items()}
        return Thresholds.of(data.get("thresholds")), int(data.get("version", 0))

    def get(self, store_id: str, segment_id: str) -> Segment | None:
        response = self._db.get_item(
            TableName=self._table, Key=_key(store_id, _segment_sk(segment_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _segment_of(item) if item else None

    def _owner_of_name(self, store_id: str, name: str) -> str:
        response = self._db.get_item(
            TableName=self._table, Key=_key(store_id, _name_sk(name)), ConsistentRead=True
        )
        item = response.get("Item")
        return str(item["segment_id"]["S"]) if item else ""

    def _reserve(self, store_id: str, segment: Segment) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **_key(store_id, _name_sk(segment.name)),
                    "entity": {"S": "segment_name"},
                    "segment_id": {"S": segment.id},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _release(self, store_id: str, segment: Segment) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": _key(store_id, _name_sk(segment.name)),
                "ConditionExpression": "attribute_not_exists(pk) OR segment_id = :id",
                "ExpressionAttributeValues": {":id": {"S": segment.id}},
            }
        }

    def _count(self, store_id: str, delta: int) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(store_id, SETTINGS_SK),
            "UpdateExpression": "ADD saved_count :delta SET entity = :entity",
            "ExpressionAttributeValues": {
                ":delta": {"N": str(delta)},
                ":entity": {"S": "segment_settings"},
            },
        }
        if delta > 0:
            update["ConditionExpression"] = (
                "attribute_not_exists(saved_count) OR saved_count < :max"
            )
            update["ExpressionAttributeValues"][":max"] = {"N": str(MAX_SAVED_SEGMENTS)}
        return {"Update": update}

    def _item(self, store_id: str, segment: Segment) -> dict[str, Any]:
        assert segment.created_at is not None
        assert segment.updated_at is not None
        return {
            **_key(store_id, _segment_sk(segment.id)),
            **_values(
                {
                    "entity": "segment",
                    "id": segment.id,
                    "name": segment.name,
                    "filter": filter_map(segment.query),
                    "created_at": keys.stamp(segment.created_at),
                    "updated_at": keys.stamp(segment.updated_at),
                    "version": segment.version,
                }
            ),
        }

    def add(self, store_id: str, segment: Segment) -> None:
        """Raises SegmentNameTaken, TooManySegments."""
        actions = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._item(store_id, segment),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._reserve(store_id, segment),
            self._count(store_id, +1),
        ]
        try:
            self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = _reasons(error)
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise SegmentNameTaken(self._owner_of_name(store_id, segment.name)) from None
            if reasons[2:3] == ["ConditionalCheckFailed"]:
                raise TooManySegments from None
            raise

    def replace(self, store_id: str, old: Segment, new: Segment) -> None:
        """Writes `new` if `old` is still the stored version. Raises StaleSegment,
        SegmentNameTaken."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._item(store_id, new),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(old.version)}},
                }
            }
        ]
        if name_key(old.name) != name_key(new.name):
            actions += [self._release(store_id, old), self._reserve(store_id, new)]
        try:
            self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = _reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise StaleSegment from None
            if reasons[2:3] == ["ConditionalCheckFailed"]:
                raise SegmentNameTaken(self._owner_of_name(store_id, new.name)) from None
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleSegment from None  # a concurrent write: read again, try again
            raise

    def remove(self, store_id: str, segment: Segment) -> None:
        """Deletes the segment if it is still at the version read. Raises StaleSegment."""
        actions = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _key(store_id, _segment_sk(segment.id)),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {":expected": {"N": str(segment.version)}},
                }
            },
            self._release(store_id, segment),
            self._count(store_id, -1),
        ]
        try:
            self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleSegment from None
            raise

    def save_thresholds(self, store_id: str, thresholds: Thresholds, expected_version: int) -> None:
        """Sets the thresholds if they are still at `expected_version`. Raises StaleSegment."""
        condition = (
            "attribute_not_exists(version)" if expected_version == 0 else "version = :expected"
        )
        values = _values(
            {
                ":thresholds": thresholds.as_map(),
                ":version": expected_version + 1,
                ":entity": "segment_settings",
            }
        )
        if expected_version:
            values[":expected"] = {"N": str(expected_version)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(store_id, SETTINGS_SK),
                UpdateExpression=(
                    "SET thresholds = :thresholds, version = :version, entity = :entity"
                ),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleSegment from None
            raise
