"""Money, the same way in every service, API and event: an exact decimal in a currency.

An amount is a `Decimal`, never a float. It is written as a decimal string with exactly the
currency's minor units (ISO 4217): "100.00" BRL, "1250" JPY, "1.500" KWD. DynamoDB keeps
numbers without their trailing zeros ("100.00" comes back as 100), so every stored amount is
stored beside its currency, which restores the scale when it is read.

For pydantic models (API bodies and answers, event contracts):

- `Currency`: an ISO 4217 code of a currency with minor units; anything else is refused.
- `Amount`: a non-negative decimal, given as a string ("59.90") or a JSON number (59.9) but
  never with a float's binary noise (0.30000000000000004), NaN or Infinity. Answers give it as
  a string. Outside a currency it has at most `MAX_MINOR_UNITS` decimals.
- `InCurrency`: a model with a `currency` field whose amounts (`Amount` fields, its own and
  those of the models nested in it) are in that currency: more decimals than the currency has
  are refused, naming the field, and the amounts are kept and written with the currency's
  minor units.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ModelWrapValidatorHandler,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError


def _codes(text: str) -> list[str]:
    return text.split()


# ISO 4217 list one as published on 2026-01-01: code -> minor units. Codes whose minor units
# are "N.A." (precious metals, bond-market units, SDR, XSU, XUA, the testing codes XTS and XXX)
# are left out: they are not money a store takes.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0
    ),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(_codes("CLF UYW"), 4),
    **dict.fromkeys(
        _codes(
            "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP"
            " BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB"
            " EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES"
            " KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR"
            " MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD"
            " RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP"
            " TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"
        ),
        2,
    ),
}
MAX_MINOR_UNITS = max(MINOR_UNITS.values())
# Below 10^14 (a hundred trillion): every amount fits DynamoDB's 38 digits many times over.
MAX_DIGITS = 14
LIMIT = Decimal(10) ** MAX_DIGITS
_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")
CANONICAL_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]{1,4})?$"
CANONICAL = (
    "A decimal string with the currency's minor units (ISO 4217):"
    ' "100.00" BRL, "1250" JPY, "1.500" KWD.'
)


def minor_units(currency: str) -> int:
    """The currency's minor units. Raises ValueError for a code that is not ISO 4217 money."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError("is not an ISO 4217 currency code (e.g. BRL, EUR, JPY)") from None


def _unit(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def decimals(amount: Decimal) -> int:
    """How many decimals the amount needs (trailing zeros do not count): 1.50 needs 1."""
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite amounts only
    return max(-exponent, 0)


def parse(value: object) -> Decimal:
    """A decimal from text or a number, exactly as written.

    A float is read by its shortest repr (0.1 is 0.1, not 0.1000000000000000055...), so the
    binary noise of arithmetic done on floats (0.1 + 0.2) shows as decimals and is refused by
    the scale rules. Raises ValueError.
    """
    if isinstance(value, bool):
        raise ValueError("must be a decimal string or a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        if not _TEXT.fullmatch(value.strip()):
            raise ValueError('must be a decimal string such as "59.90"')
        number = Decimal(value.strip())
    else:
        raise ValueError("must be a decimal string or a number")
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number + 0  # no "-0"


def check(amount: Decimal, currency: str | None) -> Decimal:
    """A non-negative amount the currency can hold, with its minor units. Raises ValueError."""
    places = MAX_MINOR_UNITS if currency is None else minor_units(currency)
    if amount < 0:
        raise ValueError("must not be negative")
    if amount >= LIMIT:
        raise ValueError(f"must be less than 10^{MAX_DIGITS}")
    if decimals(amount) > places:
        where = f"{currency} amounts" if currency else "amounts"
        raise ValueError(f"has too many decimals: {where} have at most {places}")
    return amount.quantize(_unit(places)) if currency else amount


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount with exactly the currency's minor units, rounded half-even if it had more."""
    return amount.quantize(_unit(minor_units(currency)), rounding=ROUND_HALF_EVEN)


def text(amount: Decimal, currency: str | None) -> str:
    """The canonical string: the currency's minor units, or the amount as it is without one."""
    shown = amount if currency is None else quantize(amount, currency)
    return format(shown + 0, "f")


def total(amounts: Iterable[Decimal], currency: str) -> Decimal:
    """The exact sum, with the currency's minor units."""
    return quantize(sum(amounts, Decimal(0)), currency)


def average(amount: Decimal, count: int, currency: str) -> Decimal:
    """`amount` shared over `count`, rounded half-even to the currency's minor units."""
    if count <= 0:
        raise ValueError("an average needs at least one")
    return quantize(amount / count, currency)


@dataclass(frozen=True)
class Money:
    """An amount in a currency, held with the currency's minor units."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", check(parse(self.amount), self.currency))

    def __str__(self) -> str:
        return text(self.amount, self.currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)


# pydantic -------------------------------------------------------------------------------------

# The currency of the model being validated, for the amounts in it (see InCurrency).
_currency: ContextVar[str | None] = ContextVar("clientela_money_currency", default=None)


def _known(code: str) -> str:
    minor_units(code)
    return code


def _in_scope(amount: Decimal) -> Decimal:
    try:
        return check(amount, _currency.get())
    except ValueError as exc:
        raise PydanticCustomError("money", str(exc)) from None


def _written(amount: Decimal) -> str:
    currency = _currency.get()
    return text(amount, currency if currency in MINOR_UNITS else None)


Currency = Annotated[
    str,
    AfterValidator(_known),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 currency code, e.g. BRL",
            "examples": ["BRL"],
        }
    ),
]

Amount = Annotated[
    Decimal,
    BeforeValidator(parse),
    AfterValidator(_in_scope),
    PlainSerializer(_written, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": CANONICAL_PATTERN},
                {"type": "number", "minimum": 0},
            ],
            "description": (
                f"{CANONICAL} A JSON number is read as written; at most the currency's decimals."
            ),
            "examples": ["59.90"],
        },
        mode="validation",
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CANONICAL_PATTERN,
            "description": CANONICAL,
            "examples": ["59.90"],
        },
        mode="serialization",
    ),
]


class InCurrency(BaseModel):
    """A model whose `Amount`s, nested ones included, are in its `currency` field's currency."""

    @model_validator(mode="wrap")
    @classmethod
    def _amounts_in_currency(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        given = data.get("currency") if isinstance(data, dict) else None
        token = _currency.set(given if isinstance(given, str) and given in MINOR_UNITS else None)
        try:
            return handler(data)
        finally:
            _currency.reset(token)

    # Unannotated on purpose: pydantic then documents the model's own fields (an annotated
    # return type would replace them in the JSON Schema).
    @model_serializer(mode="wrap")
    def _amounts_written_in_currency(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """Nested models built on their own (outside this one) are written in its currency too."""
        token = _currency.set(getattr(self, "currency", None))
        try:
            return handler(self)
        finally:
            _currency.reset(token)
