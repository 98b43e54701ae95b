"""Import rules of the customers service (customers/imports/rules): rows, consent, plans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.customers.imports import rules
from chalicelib.customers.imports.rules import ConsentStatement, Issue, RowInput
from chalicelib.customers.profiles.rules import CONSENT_STATES, Consent, Customer

WHEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STATEMENTS = ("subscribed", "unsubscribed", "cleaned", "pending", "not_subscribed")


def customer(**values: object) -> Customer:
    return Customer(
        id="01JD3Z6Q4W0W8Y5J3K2M1N0PQR",
        store_id="s1",
        created_at=WHEN,
        updated_at=WHEN,
        version=3,
        **values,  # type: ignore[arg-type]
    )


def row(**fields: str) -> RowInput:
    read = rules.read_row(2, fields)
    assert isinstance(read, RowInput), read
    return read


@pytest.mark.parametrize(
    ("fields", "column"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "phone": "12"}, "phone"),
        ({"email": "a@example.com", "country": "Narnia"}, "country"),
        ({"email": "a@example.com", "birthday": "31/02/1990"}, "birthday"),
        ({"email": "a@example.com", "gender": "robot"}, "gender"),
        ({"first_name": "Ana"}, "email"),
        ({"email": "a@example.com", "email_consent": "maybe"}, "email_consent"),
        ({"email": "a@example.com", "email_consent_at": "yesterday"}, "email_consent_at"),
    ],
)
def test_a_row_is_refused_naming_the_column(fields: dict[str, str], column: str) -> None:
    refused = rules.read_row(7, fields)
    assert isinstance(refused, Issue)
    assert (refused.row, refused.kind, refused.column) == (7, "refused", column)
    assert refused.reason


def test_a_row_is_normalised_as_the_api_would() -> None:
    read = row(
        email=" Ana@Example.COM ",
        phone="(11) 98765-4321",
        country="br",
        tags='"VIP", newsletter',
        email_consent="Yes",
        email_consent_at="2026-03-01T09:00:00Z",
    )
    assert read.profile["email"] == "ana@example.com"
    assert read.profile["phone"] == "+5511987654321"  # national, read in the row's country
    assert read.profile["country"] == "BR"
    assert read.profile["tags"] == ["newsletter", "vip"]
    assert read.consents["email"] == ConsentStatement("subscribed", WHEN)
    assert read.identity == "email:ana@example.com"
    assert row(phone="+5511987654321").identity == "phone:+5511987654321"


@given(
    st.sampled_from((None, *CONSENT_STATES)),
    st.sampled_from(STATEMENTS),
)
def test_consent_is_never_upgraded_implicitly_and_unsubscribes_always_win(
    current_state: str | None, statement: str
) -> None:
    current = Consent(state=current_state) if current_state is not None else None
    before = current_state or "never_asked"
    record = rules.imported_consent(current, ConsentStatement(statement, WHEN))  # type: ignore[arg-type]
    after = record.state if record is not None else before
    if statement in ("unsubscribed", "cleaned"):
        assert after == "unsubscribed"
    if after == "subscribed" and before != "subscribed":
        assert statement == "subscribed"  # only an explicit subscribed subscribes...
        assert before in ("never_asked", "pending")  # ...and never someone who unsubscribed
    if before == "unsubscribed":
        assert after == "unsubscribed"
    if record is not None:
        assert record.source == "import"
        assert record.updated_at == WHEN  # the file's time
        assert record.state != before


def test_a_matched_customer_keeps_its_contact_and_gets_only_new_values() -> None:
    current = customer(email="ana@example.com", phone="+5511987654321", first_name="Ana")
    read = row(email="ana@example.com", phone="+5511911112222", first_name="Ana", city="Porto")
    after = rules.updated_customer(current, read, ["import"], update_existing=True)
    assert after.phone == "+5511987654321"  # matched on e-mail: the phone is not replaced
    assert (after.city, after.tags, after.version) == ("Porto", ["import"], 4)
    same = rules.updated_customer(after, read, ["import"], update_existing=True)
    assert same is after  # re-running the row changes nothing


def test_leaving_existing_customers_still_applies_an_unsubscribe() -> None:
    subscribed = Consent("subscribed", "single", WHEN, "signup")
    current = customer(email="ana@example.com", email_consent=subscribed)
    read = row(email="ana@example.com", city="Porto", email_consent="unsubscribed")
    after = rules.updated_customer(current, read, ["t"], update_existing=False)
    assert after.city is None and after.tags == []
    assert after.email_consent.state == "unsubscribed"
    left = row(email="ana@example.com", city="Porto")
    assert rules.updated_customer(current, left, [], update_existing=False) is current


def test_plans() -> None:
    read = row(email="ana@example.com", first_name="Ana")
    assert rules.plan_row(read, None, [], update_existing=True) == ("create", None)
    same = customer(email="ana@example.com", first_name="Ana")
    assert rules.plan_row(read, same, [], update_existing=True) == ("unchanged", None)
    other = customer(email="ana@example.com", first_name="Anna")
    assert rules.plan_row(read, other, [], update_existing=True) == ("update", None)
    assert rules.plan_row(read, other, [], update_existing=False) == ("unchanged", None)


def test_a_subscription_without_its_contact_writes_nothing() -> None:
    read = row(email="ana@example.com", sms_consent="subscribed")
    created = rules.new_customer("s1", "01JD3Z6Q4W0W8Y5J3K2M1N0PQR", read, [])
    assert created.sms_consent.state == "never_asked"
