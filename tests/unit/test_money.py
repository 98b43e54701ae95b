"""Money rules: parsing, the currency's minor units, exact sums and averages."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from clientela import money
from clientela.money import Amount, Currency, InCurrency

CURRENCIES = st.sampled_from(sorted(money.MINOR_UNITS))


@st.composite
def amounts(draw: st.DrawFn, currency: str | None = None) -> tuple[str, Decimal]:
    """(currency, amount) with at most the currency's decimals."""
    code = currency or draw(CURRENCIES)
    places = money.MINOR_UNITS[code]
    units = draw(st.integers(min_value=0, max_value=10**money.MAX_DIGITS * 10**places - 1))
    return code, Decimal(units).scaleb(-places)


class Line(BaseModel):
    unit_price: Amount


class Order(InCurrency):
    currency: Currency
    total: Amount
    items: list[Line] = []


class Threshold(BaseModel):
    spent_min: Amount


def test_the_examples_of_the_issue() -> None:
    assert money.text(Decimal("100"), "BRL") == "100.00"
    assert money.text(Decimal("1250"), "JPY") == "1250"
    assert money.text(Decimal("1.5"), "KWD") == "1.500"
    assert str(money.Money(Decimal("159.9"), "EUR")) == "159.90"


@given(amounts())
def test_text_has_exactly_the_minor_units_and_reads_back_the_same(
    case: tuple[str, Decimal],
) -> None:
    currency, amount = case
    written = money.text(amount, currency)
    places = money.MINOR_UNITS[currency]
    assert len(written.partition(".")[2]) == places
    assert Decimal(written) == amount
    # What DynamoDB gives back (no trailing zeros) is written the same way.
    assert money.text(amount.normalize(), currency) == written


@given(amounts())
def test_a_model_keeps_the_amount_exact_and_answers_its_text(case: tuple[str, Decimal]) -> None:
    currency, amount = case
    for given_as in (str(amount), format(amount.normalize(), "f")):
        order = Order.model_validate({"currency": currency, "total": given_as})
        assert order.total == amount
        dumped = json.loads(order.model_dump_json())
        assert dumped["total"] == money.text(amount, currency)


@given(CURRENCIES, st.integers(min_value=1, max_value=10**6))
def test_more_decimals_than_the_currency_has_are_refused_naming_the_field(
    currency: str, units: int
) -> None:
    places = money.MINOR_UNITS[currency]
    too_fine = Decimal(units * 10 + 1).scaleb(-(places + 1))
    with pytest.raises(ValidationError) as refused:
        Order.model_validate(
            {"currency": currency, "total": "1", "items": [{"unit_price": str(too_fine)}]}
        )
    (error,) = refused.value.errors()
    assert error["loc"] == ("items", 0, "unit_price")
    assert f"{currency} amounts have at most {places}" in error["msg"]


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_a_float_is_read_as_written_never_with_its_binary_noise(number: float) -> None:
    assert money.parse(number) == Decimal(repr(number))


def test_floats_noise_nan_and_infinity_are_refused() -> None:
    assert Order.model_validate({"currency": "EUR", "total": 59.9}).total == Decimal("59.90")
    for bad in (0.1 + 0.2, float("nan"), float("inf"), "NaN", "Infinity", "1e3", "-1", True, "1,5"):
        with pytest.raises(ValidationError) as refused:
            Order.model_validate({"currency": "EUR", "total": bad})
        assert [e["loc"] for e in refused.value.errors()] == [("total",)]


def test_unknown_currencies_are_refused() -> None:
    for code in ("XYZ", "XAU", "XXX", "brl", "EURO"):
        with pytest.raises(ValidationError) as refused:
            Order.model_validate({"currency": code, "total": "1"})
        assert ("currency",) in [e["loc"] for e in refused.value.errors()]
    with pytest.raises(ValueError, match="ISO 4217"):
        money.minor_units("XYZ")


def test_without_a_currency_an_amount_keeps_its_own_scale() -> None:
    assert Threshold(spent_min="1000").model_dump_json() == '{"spent_min":"1000"}'
    assert Threshold(spent_min="0.5").model_dump_json() == '{"spent_min":"0.5"}'
    with pytest.raises(ValidationError):
        Threshold(spent_min="0.00001")


def test_answers_are_documented_as_strings_and_accepted_as_strings_or_numbers() -> None:
    out = Order.model_json_schema(mode="serialization")["properties"]["total"]
    assert out["type"] == "string"
    assert out["pattern"] == money.CANONICAL_PATTERN
    given_in = Order.model_json_schema(mode="validation")["properties"]["total"]
    assert sorted(o["type"] for o in given_in["anyOf"]) == ["number", "string"]


@given(st.lists(amounts("BRL"), max_size=30))
def test_a_sum_is_exact(cases: list[tuple[str, Decimal]]) -> None:
    values = [amount for _, amount in cases]
    total = money.total(values, "BRL")
    assert Fraction(total) == sum((Fraction(v) for v in values), Fraction(0))
    assert money.text(total, "BRL") == format(total, "f")


@given(amounts(), st.integers(min_value=1, max_value=10_000))
def test_an_average_is_the_exact_quotient_rounded_half_even(
    case: tuple[str, Decimal], count: int
) -> None:
    currency, amount = case
    places = money.MINOR_UNITS[currency]
    average = money.average(amount, count, currency)
    exact = Fraction(amount) / count
    step = Fraction(1, 10**places)
    # Never further from the exact quotient than half a minor unit, with the currency's scale.
    assert abs(Fraction(average) - exact) <= step / 2
    assert -average.as_tuple().exponent == places  # type: ignore[operator]
    if abs(Fraction(average) - exact) == step / 2:  # a tie goes to the even neighbour
        assert int(average.scaleb(places)) % 2 == 0


def test_average_examples() -> None:
    assert money.average(Decimal("100"), 1, "BRL") == Decimal("100.00")
    assert money.average(Decimal("0.05"), 2, "EUR") == Decimal("0.02")  # 0.025: half to even
    assert money.average(Decimal("0.15"), 2, "EUR") == Decimal("0.08")  # 0.075: half to even
    assert money.average(Decimal("2500"), 2, "JPY") == Decimal("1250")
    assert money.average(Decimal("10"), 3, "KWD") == Decimal("3.333")
    assert Decimal("0.025").quantize(Decimal("0.01"), ROUND_HALF_EVEN) == Decimal("0.02")


def test_money_adds_only_in_one_currency() -> None:
    assert money.Money(Decimal("1.10"), "EUR") + money.Money(Decimal("2"), "EUR") == money.Money(
        Decimal("3.10"), "EUR"
    )
    with pytest.raises(ValueError, match="cannot add"):
        money.Money(Decimal(1), "EUR") + money.Money(Decimal(1), "BRL")
    with pytest.raises(ValueError, match="too many decimals"):
        money.Money(Decimal("1.5"), "JPY")
