"""The demo store's customers: deterministic, valid for the API, and as varied as real ones."""

from __future__ import annotations

import phonenumbers
from email_validator import validate_email

from chalicelib.customers.models import CustomerCreate
from clientela_local.seed import demo_customers
from clientela_local.seed_data import TAGS


def test_the_same_seed_gives_the_same_customers():
    assert demo_customers(50) == demo_customers(50)
    assert demo_customers(50, seed=1) != demo_customers(50, seed=2)


def test_every_customer_is_accepted_by_the_customers_api():
    for customer in demo_customers():
        CustomerCreate.model_validate(customer)


def test_phones_are_valid_mobile_numbers_of_the_customers_country():
    for customer in demo_customers():
        if "phone" in customer:
            number = phonenumbers.parse(customer["phone"])
            assert phonenumbers.is_valid_number(number), customer
            assert phonenumbers.region_code_for_number(number) == customer["country"], customer
            assert customer["phone"] == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )


def test_emails_are_unique_and_valid():
    emails = [c["email"] for c in demo_customers() if "email" in c]
    assert len(emails) == len(set(emails))
    for email in emails:
        validate_email(email, check_deliverability=False)


def test_the_store_looks_international():
    customers = demo_customers()
    assert {"BR", "PT", "ES", "AR", "MX", "IT", "GB", "US"} <= {c["country"] for c in customers}
    assert any(not c["last_name"].isascii() for c in customers)  # Gonçalves, Muñoz, ...
    assert any("email" not in c for c in customers)  # some only gave a phone
    assert any("phone" not in c for c in customers)
    tags = {tag for c in customers for tag in c["tags"]}
    assert {"vip", "wholesale", "newsletter", "winback"} <= tags <= set(TAGS)
