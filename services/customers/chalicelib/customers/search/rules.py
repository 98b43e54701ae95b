"""What a customer filter means, as pure rules: the list, counts, segments and bulk actions.

`CustomerFilter.matches` is the one definition of every filter. Indexes only narrow what is
read (chalicelib.customers.search.plans); every customer read is still checked here, so an index can
never make a filter mean something else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from chalicelib.customers.profiles.rules import Customer
from clientela import customer_filter
from clientela.customer_filter import Filterable, fold

MAX_TOKEN_LENGTH = 100
# A name is found by each of its words as a prefix: one entry per word, starting there (the
# name read round from that word). Words past this many are found only inside those entries.
MAX_NAME_ROTATIONS = 6
_PHONE_QUERY = re.compile(r"\+?[0-9 ().\-/]+")
NOT_SEARCHABLE = "must contain a letter or a digit (case, accents and punctuation are ignored)"


def search_text(value: str) -> str:
    """Text as search compares it: folded, commas as spaces ("García, María": "garcia maria")."""
    return " ".join(fold(value).replace(",", " ").split())


def searchable(value: str) -> str:
    """A text filter's value, trimmed. Refused (ValueError) when it could never find anything:
    blank, or nothing but punctuation, symbols or accents once folded."""
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    if not any(c.isalnum() for c in fold(text)):
        raise ValueError(NOT_SEARCHABLE)
    return text


def name_key(customer: Customer) -> str:
    """How the name sort orders customers: folded "first last"; nameless ones last, by e-mail."""
    name = fold(customer.display_name)
    if name:
        return name[:MAX_TOKEN_LENGTH]
    return "\uffff" + (customer.email or customer.phone or "")[:MAX_TOKEN_LENGTH]


def initials(customer: Customer) -> str:
    parts = search_text(customer.display_name).split()
    return "".join(part[0] for part in parts if part)


@functools.lru_cache(maxsize=4096)
def national_forms(e164: str) -> frozenset[str]:
    """The digits of a number as dialled in its own country: `(11) 98765-4321` for
    +5511987654321, and, where a trunk prefix differs (`07911 123456` for +447911123456),
    the national significant number too (`7911123456`)."""
    import phonenumbers  # noqa: PLC0415 - loaded with the first number, not at start

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return frozenset()
    dialled = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms = {"".join(c for c in dialled if c.isdigit())}
    forms.add(phonenumbers.national_significant_number(number))
    return frozenset(form for form in forms if form)


def _international(customer: Customer) -> str | None:
    """The E.164 number's digits: `+55 11` and `5511` both match it."""
    return customer.phone.removeprefix("+")[:MAX_TOKEN_LENGTH] if customer.phone else None


def search_tokens(customer: Customer) -> set[str]:
    """The texts `q` matches by prefix (one search entry each): the name from each of its
    words (so "silveira ana julia" and "julia silveira ana" for Ana Júlia Silveira), initials,
    e-mail, the phone's international digits and its national forms."""
    tokens = set()
    words = search_text(customer.display_name).split()
    for start in range(min(len(words), MAX_NAME_ROTATIONS)):
        tokens.add(" ".join([*words[start:], *words[:start]]))
    if len(words) > 1:
        tokens.add(initials(customer))
    if customer.email:
        tokens.add(customer.email)
    if customer.phone:
        tokens.add(customer.phone.removeprefix("+"))
        tokens.update(national_forms(customer.phone))
    return {token[:MAX_TOKEN_LENGTH] for token in tokens}


@dataclass(frozen=True)
class SearchQuery:
    """`q` as the prefix the tokens are compared with."""

    prefix: str
    # A phone number given with its country code (`+55 11 9`): it can only be an E.164 number,
    # never a national form that happens to start with the same digits.
    international: bool = False


def search_query(q: str) -> SearchQuery:
    """Folded text, or a phone's digits. Raises ValueError when nothing in it is searchable."""
    text = searchable(q)
    digits = "".join(c for c in text if c.isdigit())
    if _PHONE_QUERY.fullmatch(text) and (len(digits) >= 3 or (text[0] == "+" and digits)):
        return SearchQuery(digits[:MAX_TOKEN_LENGTH], international=text[0] == "+")
    prefix = search_text(text)[:MAX_TOKEN_LENGTH]
    if not prefix:
        raise ValueError(NOT_SEARCHABLE)
    return SearchQuery(prefix)


def matching_tokens(customer: Customer, query: SearchQuery) -> set[str]:
    """The customer's tokens (search entries) the query matches."""
    if query.international:
        international = _international(customer)
        tokens = {international} if international else set()
    else:
        tokens = search_tokens(customer)
    return {token for token in tokens if token.startswith(query.prefix)}


@dataclass(frozen=True)
class CustomerFilter(customer_filter.CustomerFilter):
    """Every filter of GET /customers (`clientela.customer_filter`, shared with automation's
    flows), with the text search `q`, which only this service's customers can answer."""

    def matches(self, customer: Filterable) -> bool:
        return (not self.q or (isinstance(customer, Customer) and _q(self, customer))) and (
            super().matches(customer)
        )


def _q(f: CustomerFilter, c: Customer) -> bool:
    assert f.q is not None
    try:
        query = search_query(f.q)
    except ValueError:
        return False  # refused before it gets here; a search for nothing finds no one
    return bool(matching_tokens(c, query))
