"""DynamoDB item sizes and capacity units, by the rules AWS bills with.

An item's size is the sum of its attribute names (UTF-8 bytes) and values: strings by UTF-8
bytes, numbers by about one byte per two significant digits plus one, binary by raw bytes,
booleans and nulls one byte, lists and maps 3 bytes plus one byte per element plus the
elements (a map element's name counts too). Reads are billed per 4 KB (a strongly consistent
read unit; eventually consistent costs half), writes per 1 KB, each rounded up, never less
than one unit per request; transactions cost double.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
TRANSACTION_FACTOR = 2

Item = Mapping[str, Any]


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: 1 per two significant digits, plus 1 (plus 1 if negative)."""
    value = Decimal(text)
    if value.is_zero():
        return 1
    digits = len(value.normalize().as_tuple().digits)  # leading and trailing zeroes trimmed
    return math.ceil(digits / 2) + 1 + (1 if value < 0 else 0)


def _binary_size(value: bytes | str) -> int:
    # boto3 hands back bytes; a Lambda event carries base64 text. Raw bytes are billed.
    return len(value) if isinstance(value, bytes | bytearray) else len(base64.b64decode(value))


_SCALARS = {
    "S": lambda text: len(text.encode()),
    "N": number_size,
    "B": _binary_size,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}
_SETS = {"SS": "S", "NS": "N", "BS": "B"}


def value_size(value: Item) -> int:
    """Bytes of one attribute value in DynamoDB JSON (`{"S": "..."}`, `{"L": [...]}`, ...)."""
    ((kind, inner),) = value.items()
    if kind in _SCALARS:
        return int(_SCALARS[kind](inner))
    if kind in _SETS:
        return sum(int(_SCALARS[_SETS[kind]](element)) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(v) for name, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item | None) -> int:
    """Bytes of an item (0 for no item): attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, *, consistent: bool) -> float:
    """Read units for `size` bytes read in one request (a missing item still costs one unit)."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def write_units(size: int) -> int:
    """Write units for writing (or deleting) one item of `size` bytes."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))
