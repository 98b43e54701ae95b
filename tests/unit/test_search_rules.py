"""What `q` finds and which text filters can run, as pure rules (CustomerFilter.matches)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.customers.profiles.rules import Customer
from chalicelib.customers.search.models import CustomerFilterQuery
from chalicelib.customers.search.rules import (
    MAX_NAME_ROTATIONS,
    CustomerFilter,
    search_query,
    search_tokens,
)
from chalicelib.customers.segments.models import SegmentFilter
from chalicelib.customers.segments.store import stored_filter
from clientela.customer_filter import fold

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def customer(**profile: Any) -> Customer:
    return Customer(
        id="01J0000000000000000000000A",
        store_id="s",
        created_at=NOW,
        updated_at=NOW,
        version=1,
        **profile,
    )


def finds(q: str, who: Customer) -> bool:
    return CustomerFilter(q=q, now=NOW).matches(who)


# Words as names have them: letters of any script, some with accents. Not the isolated
# presentation forms of Arabic marks (U+FE70...): letters by category, they decompose to a
# space and a mark, so alone they are no word at all.
word = st.text(
    st.characters(categories=("Lu", "Ll", "Lo"), exclude_characters="ǅǈǋǲ").filter(
        lambda c: not unicodedata.normalize("NFKD", c).startswith(" ")
    ),
    min_size=1,
    max_size=8,
).map(lambda w: unicodedata.normalize("NFC", w))
words = st.lists(word, min_size=1, max_size=3)


@given(first=words, last=words)
def test_every_word_of_the_names_finds_the_customer_in_any_case(
    first: list[str], last: list[str]
) -> None:
    who = customer(first_name=" ".join(first), last_name=" ".join(last), email="x@example.com")
    for each in [*first, *last]:
        assert finds(each, who), each
        assert finds(each[:1], who), each
        if fold(each.upper()) == fold(each):  # not so for a few letters (dotless i)
            assert finds(each.upper(), who), each


@given(first=words, last=words)
def test_surname_first_with_or_without_a_comma_finds_the_customer(
    first: list[str], last: list[str]
) -> None:
    who = customer(first_name=" ".join(first), last_name=" ".join(last), email="x@example.com")
    surname, given_names = " ".join(last), " ".join(first)
    assert finds(f"{surname}, {given_names}", who)
    assert finds(f"{surname} {given_names}", who)
    assert finds(f"{surname},{first[0]}", who)


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("silveira", ("Ana Júlia", "Silveira")),
        ("silveira, ana", ("Ana Júlia", "Silveira")),
        ("garcia", ("María José", "García López")),
        ("LOPEZ", ("María José", "García López")),
        ("garcia lopez maria", ("María José", "García López")),
        ("jose garcia", ("María José", "García López")),
    ],
)
def test_the_examples_of_the_issue(q: str, name: tuple[str, str]) -> None:
    assert finds(q, customer(first_name=name[0], last_name=name[1], email="x@example.com"))


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("ana silveira", ("Ana Júlia", "Silveira")),  # a middle name is not skipped
        ("silveira julia", ("Ana Júlia", "Silveira")),
        ("lopez garcia", ("María José", "García López")),
    ],
)
def test_words_out_of_their_order_do_not_match(q: str, name: tuple[str, str]) -> None:
    assert not finds(q, customer(first_name=name[0], last_name=name[1], email="x@example.com"))


@given(st.lists(word, min_size=1, max_size=12))
def test_a_name_has_at_most_one_entry_per_word_plus_initials(names: list[str]) -> None:
    who = customer(first_name=" ".join(names), email="x@example.com", phone="+447911123456")
    tokens = search_tokens(who)
    # name entries + initials + e-mail + international digits + two national forms
    assert len(tokens) <= min(len(names), MAX_NAME_ROTATIONS) + 1 + 1 + 3


def _mobiles() -> list[str]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return numbers


MOBILES = _mobiles()


@given(st.sampled_from(MOBILES), st.integers(min_value=3, max_value=20))
def test_a_phone_is_found_in_its_national_and_international_forms(e164: str, cut: int) -> None:
    who = customer(phone=e164)
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    significant = phonenumbers.national_significant_number(number)
    for form in (national, international, e164, e164[1:], significant):
        assert finds(form, who), form
        digits = "".join(c for c in form if c.isdigit())
        if len(digits[:cut]) >= 3:
            assert finds(("+" if form.startswith("+") else "") + digits[:cut], who), form


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("11987654321", True),
        ("(11) 98765-4321", True),
        ("(11) 9876", True),
        ("+55 11 98765-4321", True),
        ("5511987654321", True),
        ("+55", True),
        ("+11 98765", False),  # after a +, 11 is a country code (none such)
        ("+1198765", False),
    ],
)
def test_a_plus_means_a_country_code(q: str, found: bool) -> None:
    assert finds(q, customer(phone="+5511987654321")) is found


blank_or_marks = st.text(
    st.characters(categories=("Zs", "Cf", "Mn", "Me", "Po", "Pd", "Ps", "Pe", "Sm", "So")),
    min_size=1,
    max_size=30,
)


@given(blank_or_marks)
def test_text_with_no_letter_or_digit_is_refused_by_every_filter_model(text: str) -> None:
    assume(not any(c.isalnum() for c in fold(text)))
    for model, data in (
        (CustomerFilterQuery, {"q": text}),
        (CustomerFilterQuery, {"city": text}),
        (SegmentFilter, {"q": text}),
        (SegmentFilter, {"city": text}),
    ):
        with pytest.raises(ValidationError) as refused:
            model.model_validate(data)
        assert [e["loc"] for e in refused.value.errors()] == [(next(iter(data)),)]
    with pytest.raises(ValueError, match=r"letter or a digit|blank"):
        search_query(text)


@given(st.text(min_size=1, max_size=100))
def test_any_q_the_model_takes_gives_a_prefix_to_search(text: str) -> None:
    try:
        query = CustomerFilterQuery.model_validate({"q": text})
    except ValidationError:
        return
    assert query.q is not None
    assert search_query(query.q).prefix


def test_a_stored_filter_the_rules_now_refuse_reads_as_the_rest_with_what_was_refused() -> None:
    query, refused = stored_filter({"q": " ", "country": "ES", "tag": ["vip"]})

    assert (query.q, query.country, query.tag) == (None, "ES", ["vip"])
    assert [e.field for e in refused] == ["filter.q"]

    backwards = {"created_from": "2026-02-01", "created_to": "2026-01-01", "city": "..."}
    query, refused = stored_filter(backwards)
    assert query == CustomerFilterQuery()
    assert [e.field for e in refused] == ["filter.city", "filter.created_from"]

    assert stored_filter({"country": "ES"}) == (CustomerFilterQuery(country="ES"), ())
