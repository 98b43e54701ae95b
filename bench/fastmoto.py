"""moto, fast enough for stores of 100 000 customers, answering exactly what it answers anyway.

moto answers each Query by sorting every item of the table (`Table.all_items`), with
comparisons that convert both values on every call; it then keeps what the key condition
selects, sorts that again and walks it item by item to the ExclusiveStartKey. It turns each
answer into JSON by walking the API model value by value (about 10 ms an item), and re-measures
a whole item for each attribute it stores (to refuse items over 400 KB). At 100 000 customers
(730 000 items) one query took minutes.

Inside `faster_moto()`, `all_items` called from a Query hands moto only the items its answer
can hold: the queried partition (or the index's items under the queried hash key), sorted in
the order moto sorts them, cut to the key condition's range, to what follows the
ExclusiveStartKey, and to Limit + 1 items (one more than a page, so moto still sees whether
more follow). moto then does what it always does with them. The sorted lists are kept until
anything but a read reaches DynamoDB. A value's Python form skips the type tests for strings,
numbers, binary and booleans; Query, BatchGetItem and BatchWriteItem answers, already plain
DynamoDB JSON, are written with `json.dumps`; items are stored without the size check (the
caller checks its items' sizes). Items, counts, keys, order and page sizes are moto's own (the
search bench was run both ways and matched request for request). All is put back on exit.
"""

from __future__ import annotations

import bisect
import inspect
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Actions that leave every table as it was: the sorted lists survive them.
READS = frozenset(
    {
        "BatchGetItem", "DescribeContinuousBackups", "DescribeTable", "DescribeTimeToLive",
        "GetItem", "ListTables", "ListTagsOfResource", "Query", "Scan", "TransactGetItems",
    }
)  # fmt: skip


@dataclass
class _Sorted:
    """Items under one hash key of a table or index, in the order moto sorts a query's items."""

    table: Any
    generation: int
    names: list[str]  # the attributes moto sorts on (and compares an ExclusiveStartKey with)
    position: int  # where the key condition's range attribute is in `names`
    items: list[Any]
    keys: list[tuple[Any, ...]]
    ranges: list[Any]


class _Patches:
    def __init__(self) -> None:
        from moto.core.responses import ActionResult  # noqa: PLC0415
        from moto.dynamodb import responses  # noqa: PLC0415
        from moto.dynamodb.models import dynamo_type, table  # noqa: PLC0415

        self.action_result: Any = ActionResult
        self.value_class: Any = dynamo_type.DynamoType
        table_class: Any = table.Table
        handler: Any = responses.DynamoHandler
        self.cast_value = vars(self.value_class)["cast_value"]
        self.all_items = table_class.all_items
        self.query = table_class.query
        self.call_action = handler.call_action
        self.signature = inspect.signature(self.query)
        self.state = threading.local()
        self.generation = 0
        self.sorted: dict[tuple[Any, ...], _Sorted] = {}
        self.replaced: list[tuple[Any, str, Any]] = [
            (self.value_class, "cast_value", property(self.fast_cast)),
            (table_class, "all_items", self.scoped_items),
            (table_class, "query", self.scoped_query),
            (handler, "call_action", self.counted_action),
            (handler, "query", self.plain_json(handler.query)),
            (handler, "batch_get_item", self.plain_json(handler.batch_get_item)),
            (handler, "batch_write_item", self.plain_json(handler.batch_write_item)),
            (dynamo_type.LimitedSizeDict, "__setitem__", dict.__setitem__),
        ]

    def fast_cast(self, value: Any) -> Any:
        kind = value.type
        if kind in ("S", "B", "BOOL"):
            return value.value
        if kind == "N":
            return Decimal(value.value)
        return self.cast_value.fget(value)

    def counted_action(self, handler: Any) -> Any:
        """Any request but a read may change a table: the sorted lists are dropped."""
        write = handler._get_action() not in READS
        if write:
            self.generation += 1
        try:
            return self.call_action(handler)
        finally:
            if write:
                self.generation += 1

    def plain_json(self, action: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def answer(handler: Any) -> Any:
            result = action(handler)
            if isinstance(result, self.action_result) and isinstance(result.result, dict):
                return json.dumps(result.result)
            return result

        return answer

    def scoped_query(self, table: Any, *args: Any, **kwargs: Any) -> Any:
        self.state.query = self.signature.bind(table, *args, **kwargs).arguments
        try:
            return self.query(table, *args, **kwargs)
        finally:
            self.state.query = None

    def scoped_items(self, table: Any) -> Any:
        asked = getattr(self.state, "query", None)
        if asked is None or asked["self"] is not table:
            return self.all_items(table)
        found = self._sorted(table, asked)
        if found is None:
            return self.all_items(table)
        return self._cut(found, asked)

    def _sorted(self, table: Any, asked: dict[str, Any]) -> _Sorted | None:
        """The query's items sorted as moto sorts them, or None for shapes left to moto."""
        if not table.range_key_attr or asked.get("filter_kwargs"):
            return None
        index_name = asked.get("index_name")
        if index_name:
            schema = table.get_index(index_name).schema
            hashes = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
            conditions = asked.get("hash_key_conditions") or []
            if len(hashes) != 1 or len(ranges) != 1 or [n for n, _ in conditions] != hashes:
                return None
            wanted = dict(conditions)
            hash_attrs, range_attrs = (
                [*hashes, table.hash_key_attr],
                [*ranges, table.range_key_attr],
            )
        else:
            if asked.get("hash_key") is None:
                return None
            wanted = {table.hash_key_attr: asked["hash_key"]}
            hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
        names = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
        cache_key = (id(table), index_name, *((n, v.type, v.cast_value) for n, v in wanted.items()))
        cached = self.sorted.get(cache_key)
        if cached and cached.table is table and cached.generation == self.generation:
            return cached
        if index_name:
            pool = (item for group in table.items.values() for item in group.values())
        else:
            pool = iter(table.items.get(asked["hash_key"], {}).values())
        chosen = [
            item
            for item in pool
            if all(_equal(item.attrs.get(name), value) for name, value in wanted.items())
            and all(item.attrs.get(name) is not None for name in names)
        ]
        keyed = sorted(
            ((tuple(item.attrs[n].cast_value for n in names), item) for item in chosen),
            key=lambda pair: pair[0],
        )
        position = 1  # names: the (index's) hash key, its range key, then the table's keys
        entry = _Sorted(
            table,
            self.generation,
            names,
            position,
            [item for _, item in keyed],
            [key for key, _ in keyed],
            [key[position] for key, _ in keyed],
        )
        self.sorted[cache_key] = entry
        return entry

    def _cut(self, found: _Sorted, asked: dict[str, Any]) -> list[Any]:
        """What of `found` the answer can hold; everything, when unsure."""
        low, high = 0, len(found.items)
        conditions = asked.get("range_key_conditions") or []
        if conditions:
            name, comparison, values = conditions[-1]
            bounds = _range(found.ranges, str(comparison).upper(), [v.cast_value for v in values])
            if name != found.names[found.position] or bounds is None:
                return found.items
            low, high = bounds
        forward = asked.get("scan_index_forward", True) is not False
        start = asked.get("exclusive_start_key")
        if start:
            if not all(name in start for name in found.names):
                return found.items[low:high]
            after = tuple(self.value_class(start[name]).cast_value for name in found.names)
            if forward:
                low = max(low, bisect.bisect_right(found.keys, after))
            else:
                high = min(high, bisect.bisect_left(found.keys, after))
        limit = asked.get("limit")
        if isinstance(limit, int) and low < high:
            if forward:
                high = min(high, low + limit + 1)
            else:
                low = max(low, high - limit - 1)
        return found.items[low:high] if low < high else []


def _equal(value: Any, wanted: Any) -> bool:
    return value is not None and bool(value == wanted)


def _prefixed(values: list[Any], tests: list[Any]) -> tuple[int, int]:
    prefix = tests[0]
    if not isinstance(prefix, str):
        raise TypeError(prefix)
    low = bisect.bisect_left(values, prefix)
    # From `low` on, the values with the prefix come first, then only greater ones.
    return low, bisect.bisect_left(values, True, lo=low, key=lambda v: not v.startswith(prefix))


Bounds = Callable[[list[Any], list[Any]], tuple[int, int]]
_LEFT, _RIGHT = bisect.bisect_left, bisect.bisect_right
_EQUAL: Bounds = lambda v, t: (_LEFT(v, t[0]), _RIGHT(v, t[0]))  # noqa: E731
_AT_LEAST: Bounds = lambda v, t: (_LEFT(v, t[0]), len(v))  # noqa: E731
_ABOVE: Bounds = lambda v, t: (_RIGHT(v, t[0]), len(v))  # noqa: E731
_AT_MOST: Bounds = lambda v, t: (0, _RIGHT(v, t[0]))  # noqa: E731
_BELOW: Bounds = lambda v, t: (0, _LEFT(v, t[0]))  # noqa: E731
# moto's key condition comparisons -> the slice of sorted values they select.
_BOUNDS: dict[str, Bounds] = {
    "=": _EQUAL, "EQ": _EQUAL, ">=": _AT_LEAST, "GE": _AT_LEAST, ">": _ABOVE, "GT": _ABOVE,
    "<=": _AT_MOST, "LE": _AT_MOST, "<": _BELOW, "LT": _BELOW,
    "BETWEEN": lambda v, t: (_LEFT(v, t[0]), _RIGHT(v, t[1])),
    "BEGINS_WITH": _prefixed,
}  # fmt: skip


def _range(values: list[Any], comparison: str, tests: list[Any]) -> tuple[int, int] | None:
    """The slice of sorted `values` a key condition selects (None: not one this knows)."""
    bounds = _BOUNDS.get(comparison)
    if bounds is None:
        return None
    try:
        return bounds(values, tests)
    except TypeError:  # values of another type than the condition's
        return None


@contextmanager
def faster_moto() -> Iterator[None]:
    """moto's DynamoDB in this process, sped up as the module says, until the block ends."""
    patches = _Patches()
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in patches.replaced]
    for owner, name, replacement in patches.replaced:
        setattr(owner, name, _as_method(replacement))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _as_method(replacement: Any) -> Any:
    """Bound methods of `_Patches` become plain functions, so the patched object is `self`."""
    if inspect.ismethod(replacement):
        bound = replacement

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return bound(self, *args, **kwargs)

        return method
    return replacement
