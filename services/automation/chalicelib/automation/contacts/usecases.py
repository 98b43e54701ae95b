"""The contacts read model: kept from customer and order events, read by sending and flows."""

from __future__ import annotations

from datetime import datetime

from chalicelib.automation.contacts.rules import Contact
from chalicelib.automation.contacts.store import ContactStore
from chalicelib.automation.settings import settings
from clientela import aws
from clientela_events.customers import CustomerV1


def contact_store() -> ContactStore:
    return ContactStore(aws.dynamodb(), settings().mail_table)


def get_contact(store_id: str, customer_id: str) -> Contact | None:
    """The customer as automation knows them; None when unknown or deleted."""
    return contact_store().get(store_id, customer_id)


def contact_of(store_id: str, customer: CustomerV1) -> Contact:
    return Contact(
        store_id=store_id,
        customer_id=customer.id,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        language=customer.language,
        country=customer.country,
        tags=tuple(customer.tags),
        email_consent=customer.email_consent.state if customer.email_consent else "never_asked",
        created_at=customer.created_at,
        birthday=customer.birthday,
        last_order_at=None,  # kept apart, from order events
        version=customer.version,
    )


def keep_profile(store_id: str, customer: CustomerV1) -> bool:
    """A created or updated profile; an older version than the one held changes nothing."""
    return contact_store().put_profile(contact_of(store_id, customer))


def forget(store_id: str, customer_id: str, version: int) -> bool:
    return contact_store().put_tombstone(store_id, customer_id, version)


def note_order(store_id: str, customer_id: str, placed_at: datetime) -> bool:
    return contact_store().note_order(store_id, customer_id, placed_at)


def stop_marketing(store_id: str, customer_id: str) -> None:
    """Unsubscribed through a link: no marketing e-mail goes out before the customers service's
    own update (which follows `email.unsubscribed`) reaches the read model."""
    contact_store().set_consent(store_id, customer_id, "unsubscribed")
