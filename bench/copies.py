"""Many customers doing what one customer did through the API, written straight to the table.

moto's TransactWriteItems deep-copies the whole table and its stream on every call, so local
writes slow down as the table grows: 500 API creates take minutes on moto (on AWS a transaction
costs what its items cost). The bench writes one customer through the API and makes copies
follow it: each copy's items are the template's items as the app stored them, with the
template's id and e-mail replaced by the copy's own, written with BatchWriteItem. The table and
its stream then hold exactly what the same writes through the API would have left.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.stack import LocalStack
from clientela import ids

Item = dict[str, Any]


def customers_table() -> str:
    return os.environ.get("CUSTOMERS_TABLE", "clientela-customers")


class Copies:
    """`count` copies of the customer `template` (an API answer), following it write by write."""

    def __init__(self, stack: LocalStack, template: dict[str, Any], count: int, first: int) -> None:
        self._db = stack.internal_client("dynamodb")
        self._table = customers_table()
        schema = self._db.describe_table(TableName=self._table)["Table"]["KeySchema"]
        self._key_names = [part["AttributeName"] for part in schema]
        self._template = (template["id"], template["email"])
        # Same lengths as the template's, so every copy has the template's size.
        self._names = [(ids.new_id(), f"cliente.{first + n:05d}@ejemplo.es") for n in range(count)]
        self._state: dict[str, Item] = {}  # the template's items when copies last followed

    def _key(self, item: Item) -> str:
        return json.dumps({name: item[name] for name in self._key_names}, sort_keys=True)

    def _snapshot(self) -> dict[str, Item]:
        pages = self._db.get_paginator("scan").paginate(TableName=self._table)
        return {
            self._key(item): item
            for page in pages
            for item in page["Items"]
            if self._template[0] in json.dumps(item)
        }

    def _as_copy(self, item: Item, name: tuple[str, str]) -> Item:
        text = json.dumps(item)
        for old, new in zip(self._template, name, strict=True):
            text = text.replace(old, new)
        copied: Item = json.loads(text)
        return copied

    def follow(self) -> int:
        """Make every copy do what the template did since the last call. Returns items written."""
        before, after = self._state, self._snapshot()
        changed = [item for key, item in after.items() if before.get(key) != item]
        gone = [item for key, item in before.items() if key not in after]
        requests = []
        for name in self._names:
            requests += [{"PutRequest": {"Item": self._as_copy(i, name)}} for i in changed]
            requests += [
                {"DeleteRequest": {"Key": self._key_of(self._as_copy(i, name))}} for i in gone
            ]
        for start in range(0, len(requests), 25):
            chunk = requests[start : start + 25]
            answer = self._db.batch_write_item(RequestItems={self._table: chunk})
            if answer.get("UnprocessedItems"):
                raise RuntimeError("moto left items unprocessed")
        self._state = after
        return len(requests)

    def _key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self._key_names}
