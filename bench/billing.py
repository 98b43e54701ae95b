"""How AWS bills each DynamoDB request, computed from the request, its answer and item sizes.

Writes are billed on the larger of the item's size before and after the write, which the request
alone does not tell (an overwrite, an update expression, a delete by key). `Peek` reads those
items with a client of its own, which nothing meters, just before and after the write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.itemsize import TRANSACTION_FACTOR, item_size, read_units, write_units
from bench.usage import TableUse, Usage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Params = Mapping[str, Any]


class Peek:
    """Item sizes as stored, read with an unmetered client (strongly consistent)."""

    def __init__(self, client: DynamoDBClient) -> None:
        self._db = client
        self._key_names: dict[str, list[str]] = {}

    def key_of(self, table: str, item: Params) -> dict[str, Any]:
        if table not in self._key_names:
            schema = self._db.describe_table(TableName=table)["Table"]["KeySchema"]
            self._key_names[table] = [part["AttributeName"] for part in schema]
        return {name: item[name] for name in self._key_names[table]}

    def size(self, table: str, key: Params) -> int:
        answer = self._db.get_item(TableName=table, Key=dict(key), ConsistentRead=True)
        return item_size(answer.get("Item"))


@dataclass
class Write:
    """One item a write request touches: `put`, `update`, `delete` or (in transactions) `check`."""

    kind: str
    table: str
    key: dict[str, Any]
    item: Params | None = None  # the new item of a put
    factor: int = 1  # TRANSACTION_FACTOR inside TransactWriteItems
    before: int = 0  # stored size before the request


def _single(kind: str, params: Params, peek: Peek) -> Write:
    table = params["TableName"]
    if kind == "put":
        return Write(kind, table, peek.key_of(table, params["Item"]), params["Item"])
    return Write(kind, table, dict(params["Key"]))


_TRANSACT_KINDS = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}


def writes_of(api: str, params: Params, peek: Peek) -> list[Write]:
    """The items a write request touches (empty for reads and other APIs)."""
    if api in ("PutItem", "UpdateItem", "DeleteItem"):
        return [_single(api.removesuffix("Item").lower(), params, peek)]
    if api == "BatchWriteItem":
        found = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    found.append(Write("put", table, peek.key_of(table, item), item))
                else:
                    found.append(Write("delete", table, dict(request["DeleteRequest"]["Key"])))
        return found
    if api == "TransactWriteItems":
        found = []
        for action in params["TransactItems"]:
            ((name, body),) = action.items()
            write = _single(_TRANSACT_KINDS[name], {**body}, peek)
            write.factor = TRANSACTION_FACTOR
            found.append(write)
        return found
    return []


class DynamoDBBilling:
    """Before a request: remember the stored sizes it will change. After: bill it into a Usage."""

    def __init__(self, peek: Peek) -> None:
        self.peek = peek

    def before(self, api: str, params: Params) -> list[Write]:
        writes = writes_of(api, params, self.peek)
        for write in writes:
            write.before = self.peek.size(write.table, write.key)
        return writes

    def after(
        self, api: str, params: Params, answer: Params, writes: list[Write], usage: Usage
    ) -> None:
        ok = "Error" not in answer
        if writes:
            self._bill_writes(
                api,
                writes,
                ok=ok,
                partial="UnprocessedItems" in answer and bool(answer["UnprocessedItems"]),
                usage=usage,
            )
        elif ok:
            self._bill_reads(api, params, answer, usage)

    def _bill_writes(
        self, api: str, writes: list[Write], *, ok: bool, partial: bool, usage: Usage
    ) -> None:
        for table in {write.table for write in writes}:
            usage.table(api, table).requests += 1
        for write in writes:
            use = usage.table(api, write.table)
            use.lower_bound = use.lower_bound or partial
            after = self._size_after(write, ok=ok)
            billed = max(write.before, after)
            # A failed condition still consumes the write (AWS bills the attempt).
            use.write_units += write_units(billed) * write.factor
            if ok and write.kind != "check":
                use.items_written += 1
                use.bytes_written += billed

    def _size_after(self, write: Write, *, ok: bool) -> int:
        """The size billed beside `before`: the new item (a refused put is sized the same)."""
        if write.kind == "put":
            return item_size(write.item)
        if not ok or write.kind == "check":
            return write.before
        if write.kind == "update":
            return self.peek.size(write.table, write.key)
        return 0  # delete

    def _bill_reads(self, api: str, params: Params, answer: Params, usage: Usage) -> None:
        consistent = bool(params.get("ConsistentRead"))
        if api == "GetItem":
            item = answer.get("Item")
            projected = "ProjectionExpression" in params or "AttributesToGet" in params
            size = self.peek.size(params["TableName"], params["Key"]) if projected else 0
            sizes = [max(size, item_size(item))] if item else []
            _read(usage.table(api, params["TableName"]), sizes, consistent=consistent)
        elif api in ("Query", "Scan"):
            items = answer.get("Items", [])
            use = usage.table(api, params["TableName"])
            _read(use, [item_size(item) for item in items], consistent=consistent)
            use.lower_bound = use.lower_bound or (
                answer.get("ScannedCount", len(items)) != len(items)
                or "ProjectionExpression" in params
                or params.get("Select", "ALL_ATTRIBUTES") != "ALL_ATTRIBUTES"
            )
        elif api == "BatchGetItem":  # each item billed as its own GetItem (misses not seen)
            for table, found in answer.get("Responses", {}).items():
                request = params["RequestItems"][table]
                _read(
                    usage.table(api, table),
                    [item_size(item) for item in found],
                    consistent=bool(request.get("ConsistentRead")),
                    per_item=True,
                )
        elif api == "TransactGetItems":
            by_table: dict[str, list[int]] = {}
            responses = answer.get("Responses", [])
            for action, response in zip(params["TransactItems"], responses, strict=False):
                sizes = by_table.setdefault(action["Get"]["TableName"], [])
                sizes.extend([item_size(response["Item"])] if response.get("Item") else [])
            for table, sizes in by_table.items():
                _read(
                    usage.table(api, table),
                    sizes,
                    consistent=True,
                    per_item=True,
                    factor=TRANSACTION_FACTOR,
                )
        else:  # control-plane and other APIs: a request, no capacity
            usage.table(api, params.get("TableName", "-")).requests += 1


def _read(
    use: TableUse, sizes: list[int], *, consistent: bool, per_item: bool = False, factor: int = 1
) -> None:
    use.requests += 1
    use.items_read += len(sizes)
    use.bytes_read += sum(sizes)
    if per_item:  # each item rounded up on its own
        use.read_units += sum(read_units(s, consistent=consistent) for s in sizes) * factor
    else:  # one request: sizes summed, then rounded up; a miss still costs one unit
        use.read_units += read_units(sum(sizes), consistent=consistent) * factor
