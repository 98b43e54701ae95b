"""Hashed tombstones of erased people (customers/privacy/rules): what matches and what not."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.privacy import rules

KEY = b"k" * 32


def test_an_email_is_matched_whatever_its_case_and_surrounding_spaces() -> None:
    first = rules.tombstone_digests(KEY, "s1", email="Ana.Souza@Example.com", phone=None)
    again = rules.tombstone_digests(KEY, "s1", email="  ana.souza@example.COM ", phone=None)
    assert first == again
    assert len(first) == 1


def test_the_digest_is_an_hmac_of_kind_store_and_normalised_value_not_the_value() -> None:
    [value] = rules.tombstone_digests(KEY, "s1", email="Ana@Example.com", phone=None)
    expected = hmac.new(KEY, b"email\x1fs1\x1fana@example.com", hashlib.sha256).hexdigest()
    assert value == expected
    assert "ana" not in value
    # A plain hash of the address (what a dictionary attack would compute) does not match.
    assert value != hashlib.sha256(b"ana@example.com").hexdigest()


def test_a_phone_matches_by_its_e164_form() -> None:
    spaced = rules.tombstone_digests(KEY, "s1", email=None, phone="+55 11 98765-4321")
    plain = rules.tombstone_digests(KEY, "s1", email=None, phone="+5511987654321")
    assert spaced == plain
    assert len(plain) == 1


def test_another_store_another_key_or_another_kind_gives_another_digest() -> None:
    base = rules.digest(KEY, "s1", rules.EMAIL, "a@example.com")
    assert base != rules.digest(KEY, "s2", rules.EMAIL, "a@example.com")
    assert base != rules.digest(b"other-key", "s1", rules.EMAIL, "a@example.com")
    assert base != rules.digest(KEY, "s1", rules.PHONE, "a@example.com")


def test_text_that_is_no_email_or_phone_matches_nothing() -> None:
    assert rules.tombstone_digests(KEY, "s1", email="not an e-mail", phone="12") == []
    assert rules.tombstone_digests(KEY, "s1", email=None, phone=None) == []
    assert rules.tombstone_digests(KEY, "s1", email="", phone="") == []


@given(st.text(max_size=80), st.text(max_size=40))
def test_any_input_gives_at_most_two_hex_digests_and_never_raises(email: str, phone: str) -> None:
    digests = rules.tombstone_digests(KEY, "s1", email=email, phone=phone)
    assert len(digests) <= 2
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests)
