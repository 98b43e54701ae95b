"""Customer rules, with no AWS in sight."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers import errors
from chalicelib.customers.profiles import rules as domain
from chalicelib.customers.profiles.models import CustomerCreate, CustomerPatch


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana@Example.COM", "ana@example.com"),
        ("  joao.silva@exemplo.com.br ", "joao.silva@exemplo.com.br"),
        ("josé@exemplo.pt", "josé@exemplo.pt"),
    ],
)
def test_emails_are_normalised(raw: str, expected: str) -> None:
    assert domain.normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "ana", "ana@", "@example.com", "ana@@example.com", "a b@example.com"]
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        domain.normalise_email(raw)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+55 11 98765-4321", None, "+5511987654321"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("+39 312 345 6789", "BR", "+393123456789"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phones_become_e164(raw: str, country: str | None, expected: str) -> None:
    assert domain.normalise_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"), [("12", None), ("98765-4321", None), ("+99 123", None), ("abc", "BR")]
)
def test_bad_phones_are_refused(raw: str, country: str | None) -> None:
    with pytest.raises(ValueError, match="phone"):
        domain.normalise_phone(raw, country)


def test_tags_compare_without_case_or_spaces() -> None:
    assert domain.normalise_tags(["VIP", " vip ", "Black  Friday"]) == ["black friday", "vip"]
    with pytest.raises(ValueError, match="commas"):
        domain.normalise_tags(["a,b"])
    with pytest.raises(ValueError, match="at most 40"):
        domain.normalise_tags([f"t{i}" for i in range(41)])


@given(
    st.lists(
        st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and "," not in t), max_size=20
    )
)
def test_normalising_tags_twice_changes_nothing(tags: list[str]) -> None:
    try:
        once = domain.normalise_tags(tags)
    except ValueError:
        return
    assert domain.normalise_tags(once) == once
    assert once == sorted(set(once))


@given(st.text(alphabet=st.characters(categories=["L", "M", "Zs"]), min_size=1, max_size=100))
def test_names_keep_every_script(name: str) -> None:
    try:
        cleaned = domain.clean_text(name)
    except ValueError:
        assert not name.strip() or len(" ".join(unicodedata.normalize("NFC", name).split())) > 100
        return
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert cleaned == cleaned.strip()


def _customer(**profile: Any) -> domain.Customer:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return domain.Customer(
        id="01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
        store_id="s1",
        created_at=at,
        updated_at=at,
        version=1,
        **profile,
    )


def test_applying_changes_bumps_version_only_when_something_changed() -> None:
    customer = _customer(email="a@example.com", city="Lisboa")

    assert domain.apply_changes(customer, {"city": "Lisboa"}) is customer
    changed = domain.apply_changes(customer, {"city": "Porto", "tags": None})
    assert (changed.city, changed.tags, changed.version) == ("Porto", [], 2)
    assert changed.updated_at > customer.updated_at


def test_the_last_contact_cannot_be_removed() -> None:
    with pytest.raises(errors.ContactRequired):
        domain.apply_changes(_customer(email="a@example.com"), {"email": None})
    with pytest.raises(errors.ContactRequired):
        domain.new_customer("s1", "01JD3Z6Q4W0W8Y5J3K2M1N0PQR", {"first_name": "Ana"})


def test_changed_fields_name_only_profile_fields() -> None:
    old = {"email": "a@example.com", "city": "Roma", "version": 1}
    new = {"email": "a@example.com", "city": "Napoli", "version": 2, "tags": ["vip"]}
    assert domain.changed_fields(old, new) == ["city", "tags"]


def test_the_api_models_refuse_what_is_not_editable() -> None:
    with pytest.raises(ValueError, match=r"created_at\n.*is read-only"):
        CustomerCreate.model_validate({"email": "a@example.com", "created_at": "2026-01-01"})
    with pytest.raises(ValueError, match=r"total_spent\n.*is read-only: derived from orders"):
        CustomerPatch.model_validate({"total_spent": "10"})
    with pytest.raises(ValueError, match=r"email_consent\n.*POST /customers/.id./consent"):
        CustomerPatch.model_validate({"email_consent": {"state": "subscribed"}})
    with pytest.raises(ValueError, match="Extra inputs"):
        CustomerPatch.model_validate({"nickname": "x"})
    patch = CustomerPatch.model_validate({"city": None, "phone": "+5511987654321"})
    assert patch.changes() == {"city": None, "phone": "+5511987654321"}


def test_a_national_phone_is_read_in_the_customers_country() -> None:
    customer = _customer(email="a@example.com", country="BR")

    changed = domain.apply_changes(customer, {"phone": "(11) 91234-5678"})
    moved = domain.apply_changes(customer, {"phone": "612 34 56 78", "country": "ES"})

    assert changed.phone == "+5511912345678"
    assert (moved.phone, moved.country) == ("+34612345678", "ES")
    with pytest.raises(errors.InvalidField) as refused:
        domain.apply_changes(customer, {"phone": "123"})
    assert refused.value.field == "phone"
    with pytest.raises(errors.InvalidField):
        domain.new_customer("s1", "01JD3Z6Q4W0W8Y5J3K2M1N0PQR", {"phone": "98765-4321"})
