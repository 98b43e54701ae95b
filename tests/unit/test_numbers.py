"""Exact JSON numbers: what goes in as a number comes back as the same number."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from clientela import numbers
from clientela.numbers import Number


class Attributes(BaseModel):
    values: dict[str, str | bool | int | Number]


@given(
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: f == 0 or 1e-130 <= abs(f) < 1e126
    )
)
def test_a_json_number_comes_back_as_itself(number: float) -> None:
    kept = numbers.exact(number)
    model = Attributes(values={"n": kept})
    written = json.loads(model.model_dump_json())["values"]["n"]
    assert isinstance(written, int | float) and not isinstance(written, bool)
    assert written == number


def test_integers_text_and_booleans_keep_their_type() -> None:
    given_in = json.loads('{"a": 3, "b": true, "c": "1.5", "d": 1.5, "e": 0.1}')
    model = Attributes(
        values={k: numbers.exact(v) if type(v) in (int, float) else v for k, v in given_in.items()}
    )
    assert json.loads(model.model_dump_json())["values"] == given_in


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 1e300, 10**40, Decimal("0.12345678901234567890123"), True],
)
def test_what_json_or_dynamodb_cannot_keep_exactly_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"number|integers|digits"):
        numbers.exact(value)  # type: ignore[arg-type]
