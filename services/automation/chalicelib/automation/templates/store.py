"""A store's templates in DynamoDB (table `clientela-automation-mail`).

- template: `pk=TEMPLATE#<store>#<id>`, `sk=TEMPLATE`; its parts per language as one JSON
  attribute. Listed through the GSI `templates-by-store` (`tpk=TEMPLATES#<store>`, `tsk=<id>`):
  a store-wide partition, but templates are written by the store's staff a few times a day,
  never per customer.
Writes are conditional on the version read (If-Match), so concurrent edits never overwrite.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.automation.templates.rules import Content, Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_STORE_INDEX = "templates-by-store"
MAX_TEMPLATES = 500
MAX_ID_CHARS = 64


class VersionConflict(Exception):
    """The template changed (or appeared, or went) since the version the caller named."""


def template_key(store_id: str, template_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TEMPLATE#{store_id}#{template_id}"}, "sk": {"S": "TEMPLATE"}}


def _item(store_id: str, template: Template) -> dict[str, Any]:
    contents = {lang: asdict(content) for lang, content in template.contents.items()}
    assert template.updated_at is not None
    return {
        **template_key(store_id, template.id),
        "tpk": {"S": f"TEMPLATES#{store_id}"},
        "tsk": {"S": template.id},
        "name": {"S": template.name},
        "description": {"S": template.description},
        "default_language": {"S": template.default_language},
        "contents": {"S": json.dumps(contents, ensure_ascii=False)},
        "version": {"N": str(template.version)},
        "updated_at": {"S": template.updated_at.isoformat()},
    }


def _template(item: dict[str, Any]) -> Template:
    contents = json.loads(item["contents"]["S"])
    return Template(
        id=item["tsk"]["S"],
        name=item["name"]["S"],
        description=item.get("description", {}).get("S", ""),
        default_language=item["default_language"]["S"],
        contents={lang: Content(**parts) for lang, parts in contents.items()},
        version=int(item["version"]["N"]),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
    )


class TemplateStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, store_id: str, template_id: str) -> Template | None:
        if len(template_id) > MAX_ID_CHARS:  # no such id, and too long for a key
            return None
        item = self.client.get_item(
            TableName=self.table, Key=template_key(store_id, template_id), ConsistentRead=True
        ).get("Item")
        return _template(item) if item else None

    def list(self, store_id: str) -> list[Template]:
        response = self.client.query(
            TableName=self.table,
            IndexName=BY_STORE_INDEX,
            KeyConditionExpression="tpk = :p",
            ExpressionAttributeValues={":p": {"S": f"TEMPLATES#{store_id}"}},
            Limit=MAX_TEMPLATES,
        )
        return [_template(item) for item in response.get("Items", [])]

    def put(self, store_id: str, template: Template, *, expected: int | None) -> None:
        """Creates (`expected` None) or replaces the version `expected`."""
        if expected is None:
            condition = "attribute_not_exists(pk)"
            values: dict[str, Any] = {}
        else:
            condition = "version = :expected"
            values = {":expected": {"N": str(expected)}}
        self._write(
            lambda: self.client.put_item(
                TableName=self.table,
                Item=_item(store_id, template),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),  # type: ignore[arg-type]
            )
        )

    def delete(self, store_id: str, template_id: str, *, expected: int | None) -> None:
        condition = "attribute_exists(pk)" + (" AND version = :expected" if expected else "")
        values = {":expected": {"N": str(expected)}} if expected else {}
        self._write(
            lambda: self.client.delete_item(
                TableName=self.table,
                Key=template_key(store_id, template_id),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),  # type: ignore[arg-type]
            )
        )

    @staticmethod
    def _write(call: Any) -> None:
        try:
            call()
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionConflict from None
            raise
