"""Numbers that stay numbers: exact decimals kept in DynamoDB and written back as JSON numbers.

A JSON number such as 1.5 is read by Python as a float; kept as a `Decimal` of its shortest
repr ("1.5", never the float's binary expansion), stored in DynamoDB as a Number, and written
back as the JSON number it was (1.5, not "1.5"). Only numbers that a JSON reader gets back
exactly are accepted: those a binary float holds (what any JSON parser reads them into), within
what DynamoDB stores (38 digits; magnitudes from 1e-130 to below 1e126).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_MAX_INTEGER_DIGITS = 38  # DynamoDB's precision
_LARGEST = Decimal("1e126")
_SMALLEST = Decimal("1e-130")
_FLOAT_INTEGERS = 2**53


def exact(value: int | float | Decimal) -> int | Decimal:
    """An int as itself, any other number as an exact Decimal. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, int):
        if len(str(abs(value))) > _MAX_INTEGER_DIGITS:
            raise ValueError(f"integers have at most {_MAX_INTEGER_DIGITS} digits")
        return value
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise ValueError("numbers must be finite")
    if number and not _SMALLEST <= abs(number) < _LARGEST:
        raise ValueError("numbers must be below 1e126 and, unless 0, at least 1e-130")
    if Decimal(repr(float(number))) != number.normalize():
        raise ValueError("has more digits than a JSON number keeps exactly (send it as text)")
    return number


def _as_json(value: Decimal) -> int | float:
    # Exact: `exact` only lets through what a float holds, and a float's repr is the shortest
    # text that reads back as it. Whole numbers a float holds exactly are written as integers.
    whole = value == value.to_integral_value() and abs(value) < _FLOAT_INTEGERS
    return int(value) if whole else float(value)


def _parsed(value: object) -> object:
    # Only read here; `exact` is the rule, applied where the value is kept (a refusal inside a
    # union would be reported once per member of the union).
    return Decimal(repr(value)) if isinstance(value, float) else value


# A decimal that is written as a JSON number.
Number = Annotated[
    Decimal,
    BeforeValidator(_parsed),
    PlainSerializer(_as_json, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]
